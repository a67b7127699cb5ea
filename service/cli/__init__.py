"""The ``frictionlog`` command."""

from __future__ import annotations

import json
import logging
import sys
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

import click
import uvicorn
from sqlalchemy import delete
from sqlmodel import Session, SQLModel

from integrations.slack.client import sync_client
from integrations.slack.notifier import WebClientNotifier
from service import catalogue, inbox, tokens
from service.cli.demo import demo
from service.db import session_scope
from service.digest.build import build, last_full_week
from service.digest.html import render_html
from service.digest.render import plain_text
from service.errors import AppError
from service.metrics import rollups_db
from service.migrations import upgrade
from service.models import DERIVED_TABLES, InboxStatus
from service.settings import Settings, get_settings
from service.timeutil import parse_timestamp, utcnow
from workers.celery_app import DRAIN_TASK, QUEUES, configure, create_celery
from workers.celery_app import app as celery_app
from workers.digest import run_digests
from workers.process import drain


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)


ACCESS_LOG = click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="One log line per request (off: /metrics counts requests, and the line costs a busy API dearly)",
)


@click.group()
@click.option("--log-level", default="INFO", show_default=True, envvar="FRICTIONLOG_LOG_LEVEL")
def main(log_level: str) -> None:
    """Frictionlog: is the platform migration working? Deploys, incidents and friction, week by week."""
    _setup_logging(log_level)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@ACCESS_LOG
def serve(host: str, port: int, access_log: bool) -> None:
    """API, worker and scheduler in one process (embedded mode; with a broker set, the API only)."""
    settings = get_settings()
    upgrade(settings.database_url)
    uvicorn.run("service.web.app:create_app", factory=True, host=host, port=port, access_log=access_log)


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="API processes")
@ACCESS_LOG
def api(host: str, port: int, workers: int, access_log: bool) -> None:
    """The API alone (distributed mode): it accepts and enqueues; ``frictionlog worker`` processes."""
    if get_settings().embedded:
        raise click.UsageError("set FRICTIONLOG_BROKER_URL for the distributed API, or use `frictionlog serve`")
    uvicorn.run(
        "service.web.app:create_app", factory=True, host=host, port=port, workers=workers, access_log=access_log
    )


@main.command()
@click.option("--concurrency", "-c", default=2, show_default=True, type=int)
@click.option("--queues", "-Q", default=",".join(QUEUES), show_default=True)
@click.option("--pool", default="prefork", show_default=True, type=click.Choice(["prefork", "solo", "threads"]))
@click.option("--name", "-n", default="frictionlog@%h", show_default=True)
def worker(concurrency: int, queues: str, pool: str, name: str) -> None:
    """A Celery worker for the ingest, aggregate and digest queues."""
    settings = _distributed_settings()
    configure(celery_app, settings)
    celery_app.worker_main(
        [
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            f"--queues={queues}",
            f"--pool={pool}",
            f"--hostname={name}",
        ]
    )


@main.command()
@click.option("--schedule-file", default="./var/celerybeat-schedule", show_default=True)
def beat(schedule_file: str) -> None:
    """Celery beat: the inbox sweeper (every minute) and the weekly digest. Run exactly one."""
    settings = _distributed_settings()
    configure(celery_app, settings)
    Path(schedule_file).parent.mkdir(parents=True, exist_ok=True)
    celery_app.start(["beat", "--loglevel", "INFO", "--schedule", schedule_file])


def _distributed_settings() -> Settings:
    settings = get_settings()
    if settings.embedded:
        raise click.UsageError("FRICTIONLOG_BROKER_URL is not set: in embedded mode `frictionlog serve` does this")
    return settings


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations."""
    upgrade(get_settings().database_url)
    click.echo("database is up to date")


@main.group("tokens")
def tokens_group() -> None:
    """API tokens (shown once; stored hashed)."""


@tokens_group.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(tokens.SCOPES))
def tokens_create(name: str, scopes: tuple[str, ...]) -> None:
    with _session() as session:
        _, secret = tokens.create_token(session, name=name, scopes=scopes)
    click.echo(secret)
    click.echo(f"token {name!r} with scopes {', '.join(sorted(scopes))}; it will not be shown again", err=True)


@tokens_group.command("list")
def tokens_list() -> None:
    with _session() as session:
        for token in tokens.list_tokens(session):
            state = "revoked" if token.revoked_at else "active"
            click.echo(f"{token.name}\t{','.join(token.scopes)}\t{state}\t{token.created_at:%Y-%m-%d}")


@tokens_group.command("revoke")
@click.argument("name")
def tokens_revoke(name: str) -> None:
    with _session() as session:
        tokens.revoke_token(session, name=name)
    click.echo(f"revoked {name!r}")


@main.group("services")
def services_group() -> None:
    """The service catalogue."""


@services_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def services_import(path: Path) -> None:
    """Import services and platform history from a .csv or .yaml file."""
    with _session() as session:
        count = catalogue.import_catalogue(session, path)
    click.echo(f"imported {count} services")


@main.command()
@click.option(
    "--status",
    "statuses",
    multiple=True,
    default=[InboxStatus.FAILED],
    show_default=True,
    type=click.Choice([InboxStatus.FAILED, InboxStatus.IGNORED, InboxStatus.PROCESSED]),
)
@click.option("--since", default=None, help="Only events received at or after this RFC 3339 time")
def replay(statuses: tuple[str, ...], since: str | None) -> None:
    """Put events back to pending and process them again (after a fix)."""
    moment: datetime | None = parse_timestamp(since, field="since") if since else None
    with _session() as session:
        count = inbox.requeue(session, statuses=statuses, since=moment)
    click.echo(f"re-queued {count} events")
    _process_now()


@main.command()
@click.confirmation_option(prompt="Delete the derived tables and re-derive them from the inbox?")
def rebuild() -> None:
    """Re-derive deployments, changes and incidents from the inbox (a changed rule, a fixed parser)."""
    with _session() as session:
        _delete_derived(session)
        count = inbox.requeue(session, statuses=[s for s in InboxStatus.ALL if s != InboxStatus.PENDING])
    click.echo(f"re-queued {count} events")
    _process_now()


def _delete_derived(session: Session) -> None:
    for name in DERIVED_TABLES:
        session.exec(delete(SQLModel.metadata.tables[name]))
    session.commit()


def _process_now() -> None:
    settings = get_settings()
    if settings.embedded:
        stats = drain(settings, budget_seconds=3600)
        click.echo(f"processed {stats.processed}, ignored {stats.ignored}, failed {stats.failed}")
    else:
        create_celery(settings).send_task(DRAIN_TASK)
        click.echo("the workers were woken")


def _session() -> AbstractContextManager[Session]:
    """A session on an up-to-date schema: in embedded mode the CLI migrates the SQLite file itself,
    as ``serve`` does, so ``frictionlog tokens create`` works on a fresh install."""
    settings = get_settings()
    if settings.embedded:
        upgrade(settings.database_url)
    return session_scope(settings.database_url, write=True)


@main.command()
@click.option("--week", default=None, help="ISO week, e.g. 2026-W47 (default: the week just ended)")
@click.option("--audience", default="leaders", show_default=True, help="leaders, or team:<name>")
@click.option("--post", is_flag=True, help="Post it to the audience's Slack channel (once per week and audience)")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the HTML page here")
@click.option("--json", "as_json", is_flag=True, help="Print the digest as JSON")
def digest(week: str | None, audience: str, post: bool, html_path: Path | None, as_json: bool) -> None:
    """Build the weekly digest; without --post it never posts."""
    settings = get_settings()
    if settings.embedded:
        upgrade(settings.database_url)
    week = (week or last_full_week(utcnow(), settings.timezone)).upper()
    with session_scope(settings.database_url) as session:
        content = build(session, settings, week=week, audience=audience)
    if html_path is not None:
        html_path.write_text(render_html(content), encoding="utf-8")
        click.echo(f"wrote {html_path}", err=True)
    if as_json:
        click.echo(json.dumps(content, indent=2, default=str))
    if post:
        if audience not in settings.digest_audiences or not settings.digest_audiences[audience]:
            raise click.UsageError(f"no Slack channel for audience {audience!r} in FRICTIONLOG_DIGEST_AUDIENCES")
        if settings.slack_bot_token is None:
            raise click.UsageError("FRICTIONLOG_SLACK_BOT_TOKEN is not set")
        run = run_digests(settings, WebClientNotifier(sync_client(settings)), week=week, audiences=[audience])
        click.echo("posted" if run.posted else "already posted; not posting again", err=True)
    if not (html_path or as_json or post):
        click.echo(plain_text(content))


@main.group()
def rollups() -> None:
    """The weekly rollups behind /api/v1/metrics/weekly."""


@rollups.command("rebuild")
def rollups_rebuild() -> None:
    """Recompute every weekly rollup from raw rows (after changing FRICTIONLOG_TIMEZONE, say)."""
    with _session() as session:
        rows = rollups_db.rebuild(session, get_settings())
    click.echo(f"wrote {rows} weekly rollup rows")


main.add_command(demo)


def run() -> None:
    try:
        main(standalone_mode=True)
    except AppError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
