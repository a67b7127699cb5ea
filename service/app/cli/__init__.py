"""The ``frictionlog`` command."""

from __future__ import annotations

import json
import logging
import sys
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError

from service.app.cli.imports import import_group
from service.app.cli.metrics import metrics
from service.app.cli.migrations import migrations
from service.app.cli.session import cli_session, process_now
from service.app.cli.web_sessions import sessions
from service.core.errors import AppError
from service.core.settings import Settings, get_settings, setting_errors
from service.core.vocab import InboxStatus, Scope

if TYPE_CHECKING:
    from sqlmodel import Session

# Start-up stays under a second (bench/cli_startup.py): pandas, scikit-learn, FastAPI, Celery
# and Alembic are imported inside the commands that use them, never at the top of this module.


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from service.app.api.security import install_log_redaction  # light: re and logging

    install_log_redaction()  # tokens never reach a log line (the API installs it again after uvicorn's set-up)


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
    import uvicorn

    from service.migrations import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    uvicorn.run("service.app.web.app:create_app", factory=True, host=host, port=port, access_log=access_log)


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="API processes")
@ACCESS_LOG
def api(host: str, port: int, workers: int, access_log: bool) -> None:
    """The API alone (distributed mode): it accepts and enqueues; ``frictionlog worker`` processes."""
    import uvicorn

    if get_settings().embedded:
        raise click.UsageError("set FRICTIONLOG_BROKER_URL for the distributed API, or use `frictionlog serve`")
    uvicorn.run(
        "service.app.web.app:create_app", factory=True, host=host, port=port, workers=workers, access_log=access_log
    )


@main.command()
@click.option("--concurrency", "-c", default=2, show_default=True, type=int)
@click.option("--queues", "-Q", default="ingest,aggregate,digest", show_default=True)
@click.option("--pool", default="prefork", show_default=True, type=click.Choice(["prefork", "solo", "threads"]))
@click.option("--name", "-n", default="frictionlog@%h", show_default=True)
def worker(concurrency: int, queues: str, pool: str, name: str) -> None:
    """A Celery worker for the ingest, aggregate and digest queues."""
    from workers.celery_app import app as celery_app
    from workers.celery_app import configure

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
    """Celery beat: every entry of workers.schedule (sweeper, digest, ...). Run exactly one."""
    from workers.celery_app import app as celery_app
    from workers.celery_app import configure

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
    from service.migrations import upgrade

    upgrade(get_settings().database_url)
    click.echo("database is up to date")


@main.group("tokens")
def tokens_group() -> None:
    """API tokens (shown once; stored hashed)."""


@tokens_group.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice([scope.value for scope in Scope]))
def tokens_create(name: str, scopes: tuple[str, ...]) -> None:
    from service.core import tokens

    with _session() as session:
        _, secret = tokens.create_token(session, name=name, scopes=scopes)
    click.echo(secret)
    click.echo(f"token {name!r} with scopes {', '.join(sorted(scopes))}; it will not be shown again", err=True)


@tokens_group.command("list")
def tokens_list() -> None:
    from service.core import tokens

    with _session() as session:
        for token in tokens.list_tokens(session):
            state = "revoked" if token.revoked_at else "active"
            click.echo(f"{token.name}\t{','.join(token.scopes)}\t{state}\t{token.created_at:%Y-%m-%d}")


@tokens_group.command("revoke")
@click.argument("name")
def tokens_revoke(name: str) -> None:
    from service.core import tokens

    with _session() as session:
        tokens.revoke_token(session, name=name)
    click.echo(f"revoked {name!r}")


@main.group("services")
def services_group() -> None:
    """The service catalogue."""


@services_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def services_import(path: Path) -> None:
    """Import services, platform history and aliases from a .csv or .yaml file (docs/catalogue.md)."""
    from service.figures import catalogue

    with _session() as session:
        count = catalogue.import_catalogue(session, path)
    click.echo(f"imported {count} services")


@services_group.command("alias")
@click.argument("old")
@click.argument("service")
def services_alias(old: str, service: str) -> None:
    """Make OLD (a renamed or merged service's name) an alias of SERVICE: its events count for SERVICE."""
    from service.figures import catalogue

    with _session() as session:
        result = catalogue.put_alias(session, alias=old, service=service)
    click.echo(f"{result.alias} is now an alias of {result.service}; {result.relabelled} stored events moved")


@main.group("cost")
def cost_group() -> None:
    """Cost bills (FOCUS) and utilisation."""


@cost_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Say what the import would replace and add, and write nothing")
def cost_import(path: Path, dry_run: bool) -> None:
    """Import a FOCUS cost export (CSV, gzip'd CSV or Parquet); re-importing a billing period the file
    declares (BillingPeriodStart) replaces it, and only those periods."""
    from service.figures.cost.focus_files import count_rows, cpu_heavy
    from service.ingest.cost_import import import_focus, plan, read_file

    settings = get_settings()
    total, expanded = count_rows(path)
    if (heavy := cpu_heavy(path, expanded)) is not None:
        click.echo(f"note: {heavy}", err=True)
    bar: Any
    with click.progressbar(length=total, label="rows read", show_pos=True, file=sys.stderr) as bar:
        summary = read_file(settings, path, progress=bar.update)
    with _session() as session:  # the write transaction starts once every row has been read and checked
        for change in plan(session, summary):
            click.echo(change.words())
        if dry_run:
            click.echo(f"dry run: {summary.rows} rows read and checked; nothing was written")
            return
        result = import_focus(session, settings, path, summary=summary)
    click.echo(
        f"imported {result.rows} rows as {result.lines} cost lines "
        f"(billing periods: {', '.join(result.billing_periods) or 'none declared'}; "
        f"replaced {result.replaced_lines} lines)"
    )


@main.command()
@click.option(
    "--status",
    "statuses",
    multiple=True,
    default=[InboxStatus.FAILED.value],
    show_default=True,
    type=click.Choice([InboxStatus.FAILED.value, InboxStatus.IGNORED.value, InboxStatus.PROCESSED.value]),
)
@click.option("--since", default=None, help="Only events received at or after this RFC 3339 time")
def replay(statuses: tuple[str, ...], since: str | None) -> None:
    """Put events back to pending and process them again (after a fix)."""
    from service.core.timeutil import parse_timestamp
    from service.ingest import inbox

    moment: datetime | None = parse_timestamp(since, field="since") if since else None
    with _session() as session:
        count = inbox.requeue(session, statuses=statuses, since=moment)
    click.echo(f"re-queued {count} events")
    process_now()


@main.command()
@click.confirmation_option(prompt="Delete the derived tables and re-derive them from the inbox?")
def rebuild() -> None:
    """Re-derive deployments, changes, incidents and machine-made categories from the inbox (a changed
    rule, a fixed parser); a lead's category survives. Prints what changed."""
    from service.ingest import inbox
    from service.ingest import rebuild as changes

    with _session() as session:
        before = changes.snapshot(session)
        # One transaction: a rebuild killed at any moment leaves either everything as it was or every row
        # re-queued with nothing derived left behind — never derived rows deleted and nothing to re-derive.
        _delete_derived(session)
        count = inbox.requeue(session, statuses=[s for s in InboxStatus if s != InboxStatus.PENDING], commit=False)
        session.commit()
    click.echo(f"re-queued {count} events")
    if not process_now(wait=True):
        click.echo("the workers have not finished after 10 minutes: the changes are not reported", err=True)
        return
    with _session() as session:
        for line in changes.changes(before, changes.snapshot(session)).lines():
            click.echo(line)


def _delete_derived(session: Session) -> None:
    from sqlalchemy import delete
    from sqlmodel import SQLModel, col

    from service.core.models import DERIVED_TABLES, ROLLUP_TABLES, CostLine, Measurement
    from service.ingest.cost_import import SOURCE as FOCUS_SOURCE

    for name in DERIVED_TABLES:
        session.exec(delete(SQLModel.metadata.tables[name]))
    # Cost lines and measurements that came through the inbox; FOCUS imports are not in it and stay.
    session.exec(delete(CostLine).where(col(CostLine.source) != FOCUS_SOURCE))
    session.exec(delete(Measurement))
    # Every weekly rollup goes with them, and is rebuilt from what is re-derived: a rule that moved rows
    # between services (an alias) must not leave the old service's weeks standing.
    for name in ROLLUP_TABLES:
        session.exec(delete(SQLModel.metadata.tables[name]))


def _session() -> AbstractContextManager[Session]:
    """A session on an up-to-date schema (service.app.cli.session, the one definition)."""
    return cli_session()


@main.command()
@click.option("--week", default=None, help="ISO week, e.g. 2026-W47 (default: the week just ended)")
@click.option("--audience", default="leaders", show_default=True, help="leaders, or team:<name>")
@click.option("--post", is_flag=True, help="Post it to the audience's Slack channel (once per week and audience)")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the HTML page here")
@click.option("--json", "as_json", is_flag=True, help="Print the digest as JSON")
def digest(week: str | None, audience: str, post: bool, html_path: Path | None, as_json: bool) -> None:
    """Build the weekly digest; without --post it never posts."""
    # Each output's imports only on its path (Slack and Celery for --post): the plain
    # digest starts in under 2 s (bench/cli_startup.py).
    from service.core.db import session_scope
    from service.core.timeutil import utcnow
    from service.core.weeks import last_full_week
    from service.digest.build import build
    from service.migrations import upgrade

    settings = get_settings()
    if settings.embedded:
        upgrade(settings.database_url)
    week = (week or last_full_week(utcnow(), settings.timezone)).upper()
    with session_scope(settings.database_url) as session:
        content = build(session, settings, week=week, audience=audience)
    if html_path is not None:
        from service.digest.html import render_html

        html_path.write_text(render_html(content), encoding="utf-8")
        click.echo(f"wrote {html_path}", err=True)
    if as_json:
        click.echo(json.dumps(content.as_json(), indent=2, default=str))
    if post:
        if audience not in settings.digest_audiences or not settings.digest_audiences[audience]:
            raise click.UsageError(f"no Slack channel for audience {audience!r} in FRICTIONLOG_DIGEST_AUDIENCES")
        if settings.slack_bot_token is None:
            raise click.UsageError("FRICTIONLOG_SLACK_BOT_TOKEN is not set")
        from integrations.slack.client import sync_client
        from integrations.slack.notifier import WebClientNotifier
        from workers.digest import PostPending, run_digests

        try:
            run = run_digests(settings, WebClientNotifier(sync_client(settings)), week=week, audiences=[audience])
        except PostPending as exc:
            raise click.ClickException(f"not posted: {exc}") from exc
        click.echo("posted" if run.posted else "already posted; not posting again", err=True)
    if not (html_path or as_json or post):
        from service.digest.render import plain_text

        click.echo(plain_text(content))


@main.group()
def rollups() -> None:
    """The weekly rollups behind /api/v1/metrics/weekly."""


@rollups.command("rebuild")
def rollups_rebuild() -> None:
    """Recompute every weekly rollup from raw rows (after changing FRICTIONLOG_TIMEZONE, say)."""
    from service.figures import rollups_db

    with _session() as session:
        rows = rollups_db.rebuild(session, get_settings())
    click.echo(f"wrote {rows} weekly rollup rows")


@main.group("reporters")
def reporters_group() -> None:
    """The people who filed friction reports."""


@reporters_group.command("forget")
@click.argument("identity")
def reporters_forget(identity: str) -> None:
    """Remove a Slack user id (or an API contact) from every report, inbox body and outbox; the reports
    stay, as anonymous ones."""
    from service.figures.friction import privacy

    with _session() as session:
        done = privacy.forget_reporter(session, identity)
    click.echo(f"forgot {identity!r}: {done.reports} reports now anonymous, {done.inbox_rows} inbox bodies scrubbed")


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []})
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Generate a seeded migration, send it through the API, and print weekly metrics per platform."""
    from service.app.cli.demo import demo as real_demo  # FastAPI, pandas and the digest: only when it runs

    real_demo.main(ctx.args, prog_name=ctx.command_path, standalone_mode=False)


main.add_command(migrations)
main.add_command(sessions)
main.add_command(import_group)
main.add_command(metrics)


def run() -> None:
    try:
        main(standalone_mode=True)
    except AppError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        for line in setting_errors(exc):
            click.echo(f"error: {line}", err=True)
        sys.exit(2)
