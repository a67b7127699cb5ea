"""The ``frictionlog`` command: tokens, schema, catalogue import, replay."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlmodel import Session, select

from service.app.cli import main
from service.core.db import get_engine
from service.core.models import ApiToken, InboxEvent, Service
from service.core.settings import get_settings
from service.core.tokens import find_token


@pytest.fixture
def cli(database_url: str) -> Iterator[CliRunner]:
    get_settings.cache_clear()
    yield CliRunner(env={"FRICTIONLOG_DATABASE_URL": database_url, "FRICTIONLOG_BROKER_URL": ""})
    get_settings.cache_clear()


def invoke(cli: CliRunner, *args: str) -> Result:
    get_settings.cache_clear()
    return cli.invoke(main, list(args), catch_exceptions=False)


def test_tokens_create_prints_the_secret_once_and_stores_its_hash(cli: CliRunner, database_url: str) -> None:
    result = invoke(cli, "tokens", "create", "ci", "--scope", "ingest", "--scope", "read")

    assert result.exit_code == 0
    secret = result.stdout.strip().splitlines()[0]
    with Session(get_engine(database_url)) as db:
        stored = db.exec(select(ApiToken)).one()
        assert secret not in stored.token_hash
        assert secret.startswith("fl_")
        found = find_token(db, secret)
        assert found is not None
        assert found.scopes == ["ingest", "read"]
    listed = invoke(cli, "tokens", "list")
    assert "ci\tingest,read\tactive" in listed.stdout
    assert secret not in listed.stdout


def test_tokens_revoke(cli: CliRunner, database_url: str) -> None:
    secret = invoke(cli, "tokens", "create", "ci", "--scope", "ingest").stdout.strip().splitlines()[0]

    assert invoke(cli, "tokens", "revoke", "ci").exit_code == 0
    with Session(get_engine(database_url)) as db:
        assert find_token(db, secret) is None


def test_an_unknown_scope_is_refused(cli: CliRunner) -> None:
    result = cli.invoke(main, ["tokens", "create", "ci", "--scope", "root"])

    assert result.exit_code == 2
    assert "root" in result.output


def test_services_import(cli: CliRunner, database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "services.yaml"
    path.write_text("- {slug: ml-api, team: growth}\n- {slug: auth, team: core}\n")

    result = invoke(cli, "services", "import", str(path))

    assert result.exit_code == 0
    assert "imported 2 services" in result.stdout
    with Session(get_engine(database_url)) as db:
        assert sorted(db.exec(select(Service.slug, Service.team)).all()) == [("auth", "core"), ("ml-api", "growth")]


def test_replay_reprocesses_failed_events(cli: CliRunner, database_url: str) -> None:
    body = '{"type":"change","sha":"abcdef1","repository":"r","timestamp":"2026-01-01T00:00:00Z"}'
    with Session(get_engine(database_url)) as db:
        db.add(InboxEvent(source="generic", event_type="change", delivery_key="k", body=body, status="failed"))
        db.commit()

    result = invoke(cli, "replay", "--status", "failed")

    assert result.exit_code == 0
    assert "re-queued 1 events" in result.stdout
    with Session(get_engine(database_url)) as db:
        assert db.exec(select(InboxEvent.status)).one() == "processed"


def test_db_upgrade_is_idempotent(cli: CliRunner) -> None:
    assert invoke(cli, "db", "upgrade").exit_code == 0
    assert invoke(cli, "db", "upgrade").exit_code == 0


def test_distributed_commands_refuse_to_start_without_a_broker(cli: CliRunner) -> None:
    for command in (["worker"], ["beat"], ["api"]):
        result = cli.invoke(main, command)
        assert result.exit_code == 2
        assert "FRICTIONLOG_BROKER_URL" in result.output


HEAVY = ("pandas", "sklearn", "matplotlib", "fastapi", "celery", "alembic", "uvicorn", "numpy")


def _imported_by(tmp_path: Path, *args: str, heavy: tuple[str, ...] = HEAVY) -> set[str]:
    """The heavy libraries a real ``frictionlog`` process has imported by the time the command is done."""
    import json
    import os
    import subprocess
    import sys

    probe = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules))))\n"
        "from service.app.cli import main\n"
        "main()\n"
    )
    env = {**os.environ, "FRICTIONLOG_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "FRICTIONLOG_BROKER_URL": ""}
    cwd = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_help_and_tokens_create_import_no_heavy_library_and_log_no_alembic_line(tmp_path: Path) -> None:
    """Start-up stays under a second (bench/cli_startup.py) because of this: nothing heavy is imported."""
    assert _imported_by(tmp_path, "--help") == set()
    assert _imported_by(tmp_path, "db", "upgrade") == {"alembic"}  # a new database: Alembic runs
    assert _imported_by(tmp_path, "tokens", "create", "ci", "--scope", "ingest") == set()  # at head: it does not


DIGEST_HEAVY = ("sklearn", "scipy", "matplotlib", "celery", "fastapi", "slack_sdk", "uvicorn")


def test_the_digest_imports_only_what_its_output_needs(tmp_path: Path) -> None:
    """``frictionlog digest`` in at most 2 s (issue 25 #16, bench/cli_startup.py): no scikit-learn or scipy
    (the themes' TF-IDF needs no scipy.sparse, the few-cluster quantiles are tabulated: the computations that
    would import them are checked in tests/test_startup_figures.py), no plotting library even for --html (its
    charts are the app's SVG, service.digest.charts), Slack only for --post."""
    assert _imported_by(tmp_path, "db", "upgrade", heavy=DIGEST_HEAVY) == set()
    assert _imported_by(tmp_path, "digest", heavy=DIGEST_HEAVY) == set()
    html = tmp_path / "digest.html"
    assert _imported_by(tmp_path, "digest", "--html", str(html), heavy=DIGEST_HEAVY) == set()
    assert "<html" in html.read_text(encoding="utf-8").lower()


def test_a_bad_setting_is_one_line_naming_its_variable_not_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "FRICTIONLOG_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "FRICTIONLOG_MIN_SAMPLE": "many"}
    env["FRICTIONLOG_INCIDENT_LINK_WINDOW_HOURS"] = "-3"
    ran = subprocess.run(
        [sys.executable, "-m", "service.app.cli", "tokens", "list"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert ran.returncode == 2
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 2, ran.stderr
    named = {line.split(": ")[1] for line in lines if line.startswith("error: ")}
    assert named == {"FRICTIONLOG_MIN_SAMPLE", "FRICTIONLOG_INCIDENT_LINK_WINDOW_HOURS"}
    assert "Traceback" not in ran.stderr
