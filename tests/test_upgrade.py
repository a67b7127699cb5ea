"""Upgrades keep data (issue 11, finding 15), on SQLite and PostgreSQL.

The last released code — the newest commit whose schema head is ``0007`` — is taken from git history
and run in a subprocess: it builds a database at 0007 and fills it through its own API (catalogue,
migration, deployments with commits, incidents, changes, friction reports and their triage). Then this
code upgrades that database to the new head, and

1. every row of every table the release had is still there, unchanged, except what a migration
   documents it changes (0008 moves an API reporter to ``contact``) — so every row count is unchanged;
2. every figure the API serves (DORA keys, weekly metrics by each grouping, friction, themes, the
   digests, the catalogue, the inbox) equals the figures of a database built at head from the same
   requests: an upgraded install and a fresh one tell the same story.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from service.app.api.app import create_app
from service.core.db import get_engine
from service.migrations import upgrade
from tests.factories import issue_token
from tests.fakes import RecordingWaker
from tests.helpers import PG_ADMIN_DSN, make_settings
from tests.helpers import pg_url as _pg_url
from workers.process import drain

ROOT = Path(__file__).resolve().parent.parent
RELEASED_HEAD = "0007"
DERIVED_ROLLUPS = ("weekly_rollup", "rollup_dirty", "rollup_state")
"""Dropped by 0015 to be rebuilt from the judged lead-time pairs (reads compute from raw rows meanwhile)."""
VERSIONS = "service/migrations/versions/"

FILL = """
import json, os, sys
from fastapi.testclient import TestClient
from service.api.app import create_app
from service.settings import Settings
from tests.factories import issue_token
from tests.fakes import RecordingWaker
from workers.process import drain

settings = Settings(_env_file=None, database_url=os.environ["UPGRADE_URL"], broker_url=None,
                    spool_dir=os.environ["UPGRADE_SPOOL"], token_cache_seconds=0, ingest_retry_base_seconds=0)
requests = json.loads(sys.stdin.read())
with TestClient(create_app(settings, waker=RecordingWaker())) as client:  # migrates to the release's head
    headers = {"Authorization": "Bearer " + issue_token(settings, "upgrade", ["ingest", "read", "admin"])}
    for method, path, body in requests:
        if path == "drain":
            drain(settings)
            continue
        answer = client.request(method, path, json=body, headers=headers)
        assert answer.status_code < 300, (method, path, answer.status_code, answer.text)
    drain(settings)
"""


def released_commit() -> str:
    """The newest commit of this history whose schema head is RELEASED_HEAD: the parent of the oldest
    commit that added a later migration."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout

    later: list[str] = []
    for commit in git("log", "--format=%H", "--diff-filter=A", "HEAD", "--", VERSIONS).split():
        added = git("show", "--name-only", "--diff-filter=A", "--format=", commit, "--", VERSIONS).split()
        if any(Path(name).name[:4] > RELEASED_HEAD for name in added):
            later.append(commit)
    if not later:
        pytest.fail(f"no migration after {RELEASED_HEAD} in this history: nothing to upgrade")
    return git("rev-parse", f"{later[-1]}^").strip()


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("release")
    archive = subprocess.run(["git", "archive", released_commit()], cwd=ROOT, check=True, capture_output=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    heads = sorted(p.name[:4] for p in (target / VERSIONS).glob("0*.py"))
    assert heads[-1] == RELEASED_HEAD
    return target


def iso(day: int, hour: int = 12) -> str:
    return datetime(2026, 10, day, hour, tzinfo=UTC).isoformat().replace("+00:00", "Z")


def story() -> list[list[Any]]:
    """Three ISO weeks (W41–W43) of two services, one of which migrates in W41, through the API."""
    legacy = {"platform": "legacy", "effective_from": "2026-01-01T00:00:00Z"}
    requests: list[list[Any]] = [
        [
            "PUT",
            "/api/v1/services/api",
            {"team": "growth", "platforms": [legacy, {"platform": "new", "effective_from": iso(8, 0)}]},
        ],
        ["PUT", "/api/v1/services/worker", {"team": "core", "tier": "2", "platforms": [legacy]}],
        [
            "POST",
            "/api/v1/migrations",
            {"name": "to-new", "from_platform": "legacy", "to_platform": "new", "started_at": iso(1, 0)},
        ],
    ]
    requests[0][2]["platforms"][1]["effective_from"] = iso(8, 0)
    requests[2][2]["started_at"] = iso(1, 0)
    for n, (service, day, status) in enumerate(
        [
            ("api", 5, "success"),
            ("api", 6, "failure"),
            ("api", 9, "success"),
            ("api", 13, "success"),
            ("worker", 5, "success"),
            ("worker", 12, "success"),
            ("api", 20, "success"),
            ("worker", 19, "error"),
        ]
    ):
        commits = [{"sha": f"{n:02d}{k}abcdef1234", "timestamp": iso(day - 1, 8 + k)} for k in range(n % 3)]
        event = {
            "type": "deployment",
            "id": f"d-{n}",
            "service": service,
            "environment": "production",
            "status": status,
            "started_at": iso(day, 11),
            "finished_at": iso(day, 12),
            "commits": commits,
        }
        requests.append(["POST", "/webhooks/generic", event])
    requests.append(
        [
            "POST",
            "/webhooks/generic",
            {
                "type": "deployment",
                "id": "d-rb",
                "service": "api",
                "environment": "production",
                "status": "success",
                "finished_at": iso(14),
                "rollback_of": "d-3",
            },
        ]
    )
    for n, (service, day, hours) in enumerate([("api", 6, 2), ("worker", 12, 5), ("api", 14, 1)]):
        requests.append(
            [
                "POST",
                "/webhooks/generic",
                {
                    "type": "incident",
                    "id": f"i-{n}",
                    "service": service,
                    "status": "resolved",
                    "severity": "sev2",
                    "started_at": iso(day, 13),
                    "resolved_at": iso(day, 13 + hours),
                    "title": f"outage {n}",
                },
            ]
        )
    requests.append(
        [
            "POST",
            "/webhooks/generic",
            {
                "type": "change",
                "sha": "feedbeef1234",
                "repository": "acme/api",
                "service": "api",
                "timestamp": iso(9, 9),
            },
        ]
    )
    texts = [
        "Cold starts take 40 s on api",
        "GPU quota took 3 days",
        "the helm values file is 600 lines",
        "cold start on api again",
        "CI is flaky",
    ]
    for n, words in enumerate(texts):
        report = {
            "text": words,
            "service": "api" if n % 2 == 0 else "worker",
            "minutes_lost": 30 * (n + 1),
            "occurred_at": iso(6 + n * 3),
            "reporter": f"U0PERSON{n % 3}",
            "anonymous": n == 4,
        }
        requests.append(["POST", "/api/v1/friction", report])
    requests += [
        ["POST", "drain", None],
        ["PATCH", "/api/v1/friction/{f0}", {"status": "resolved", "resolution_note": "pre-warmed pods"}],
        ["PATCH", "/api/v1/friction/{f2}", {"category": "config_complexity"}],
        ["PATCH", "/api/v1/friction/{f3}", {"duplicate_of": 0}],
    ]
    return requests


def with_report_ids(requests: list[list[Any]], first_friction_id: int) -> list[list[Any]]:
    """Friction reports are numbered by their inbox row: fill in the numbers the triage calls refer to."""
    done = []
    for method, path, body in requests:
        for k in range(5):
            path = path.replace(f"{{f{k}}}", str(first_friction_id + k))
        if isinstance(body, dict) and body.get("duplicate_of") == 0:
            body = {"duplicate_of": first_friction_id}
        done.append([method, path, body])
    return done


def first_friction_id(requests: list[list[Any]]) -> int:
    """Inbox ids count every accepted delivery (generic events and reports), from 1."""
    return 1 + sum(1 for _, path, _ in requests if path == "/webhooks/generic")


def fixed_clock(url: str) -> None:
    """Triage times are 'now' in each run: pin them, identically in both databases, before comparing."""
    moment: Any = datetime(2026, 10, 16, 12, tzinfo=UTC)
    if url.startswith("sqlite"):
        moment = moment.replace(tzinfo=None).isoformat(sep=" ")
    with get_engine(url).begin() as connection:
        for column in ("resolved_at", "corrected_at"):
            connection.execute(
                text(f"UPDATE friction_report SET {column} = :moment WHERE {column} IS NOT NULL"), {"moment": moment}
            )
        connection.execute(text("UPDATE categoriser_model SET trained_at = :moment"), {"moment": moment})


def dump(url: str, columns: dict[str, list[str]]) -> dict[str, list[tuple[str, ...]]]:
    tables: dict[str, list[tuple[str, ...]]] = {}
    with get_engine(url).connect() as connection:
        for table, names in columns.items():
            quoted = ", ".join(f'"{name}"' for name in names)
            rows = connection.execute(text(f'SELECT {quoted} FROM "{table}"')).all()
            tables[table] = sorted(tuple(_plain(value) for value in row) for row in rows)
    return tables


def _plain(value: Any) -> str:
    if isinstance(value, str):
        try:  # JSON columns come back as text on SQLite and decoded on PostgreSQL
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat()
    return repr(value)


def schema(url: str) -> dict[str, list[str]]:
    found = inspect(get_engine(url))
    return {t: [c["name"] for c in found.get_columns(t)] for t in found.get_table_names() if t != "alembic_version"}


WINDOW = {"from": "2026-10-05", "to": "2026-10-26"}
VOLATILE = {"received_at", "processed_at", "available_at"}


def figures(url: str, tmp_path: Path) -> dict[str, Any]:
    settings = make_settings(url, tmp_path, spool_dir=tmp_path / f"spool-{uuid.uuid4().hex[:6]}")
    headers = {"Authorization": f"Bearer {issue_token(settings, f'reader-{uuid.uuid4().hex[:6]}', ['read'])}"}
    reads: dict[str, tuple[str, dict[str, Any]]] = {
        "dora": ("/api/v1/metrics/dora", WINDOW),
        **{
            f"weekly-{group}": ("/api/v1/metrics/weekly", {**WINDOW, "group_by": group})
            for group in ("service", "team", "platform", "cohort")
        },
        "friction-metrics": ("/api/v1/metrics/friction", WINDOW),
        "friction": ("/api/v1/friction", {}),
        "themes": ("/api/v1/friction/themes", {"days": 366}),
        "digest-w41": ("/api/v1/digests/2026-W41", {}),
        "digest-w42": ("/api/v1/digests/2026-W42", {}),
        "services": ("/api/v1/services", {}),
        "migrations": ("/api/v1/migrations", {}),
        "events": ("/api/v1/events", {}),
        "events-stats": ("/api/v1/events/stats", {}),
    }
    seen: dict[str, Any] = {}
    with TestClient(create_app(settings, waker=RecordingWaker())) as client:
        for name, (path, params) in reads.items():
            answer = client.get(path, params=params, headers=headers)
            assert answer.status_code == 200, (name, answer.text)
            seen[name] = answer.json()
    for event in seen["events"]:
        for key in VOLATILE:
            event.pop(key, None)
    return seen


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases on the backend: one for the release to fill, one built at head."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'upgraded.db'}", f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    names = [f"frictionlog_upgrade_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    urls = [_pg_url(PG_ADMIN_DSN, name) for name in names]
    yield urls[0], urls[1]
    for url in urls:
        get_engine(url).dispose()
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_upgrade_from_the_released_schema_keeps_every_row_and_every_figure(
    release: Path, fresh_urls: tuple[str, str], tmp_path: Path
) -> None:
    upgraded_url, fresh_url = fresh_urls
    requests = with_report_ids(story(), first_friction_id(story()))
    env = {**os.environ, "UPGRADE_URL": upgraded_url, "UPGRADE_SPOOL": str(tmp_path / "release-spool")}
    env.pop("PYTHONPATH", None)
    filled = subprocess.run(
        [sys.executable, "-c", FILL], cwd=release, env=env, input=json.dumps(requests), capture_output=True, text=True
    )
    assert filled.returncode == 0, filled.stderr[-3000:]
    fixed_clock(upgraded_url)
    released_columns = schema(upgraded_url)
    before = dump(upgraded_url, released_columns)

    upgrade(upgraded_url)

    after = dump(upgraded_url, released_columns)
    reporter = released_columns["friction_report"].index("reporter")
    source = released_columns["friction_report"].index("source")
    moved = [  # 0008: an API reporter is a contact now; Slack users stay reporters
        tuple("None" if i == reporter and row[source] != "'slack'" else value for i, value in enumerate(row))
        for row in before["friction_report"]
    ]
    assert after["friction_report"] == sorted(moved)
    # 0015: lead-time pairs judged by one rule (the reasons change, never the pairs); rollups dropped to rebuild
    excluded = released_columns["deployment_change"].index("excluded")
    assert [row[:excluded] for row in after["deployment_change"]] == [
        row[:excluded] for row in before["deployment_change"]
    ]
    judged = {
        t: rows for t, rows in after.items() if t not in ("friction_report", "deployment_change", *DERIVED_ROLLUPS)
    }
    assert judged == {
        t: rows for t, rows in before.items() if t not in ("friction_report", "deployment_change", *DERIVED_ROLLUPS)
    }
    assert {t: len(rows) for t, rows in after.items() if t not in DERIVED_ROLLUPS} == {
        t: len(rows) for t, rows in before.items() if t not in DERIVED_ROLLUPS
    }
    assert after["weekly_rollup"] == after["rollup_state"] == []
    assert sum(len(rows) for rows in before.values()) > 40  # the story did fill the release's database
    with get_engine(upgraded_url).connect() as connection:
        contacts = connection.execute(text("SELECT contact FROM friction_report WHERE contact IS NOT NULL")).all()
    assert sorted(c for (c,) in contacts) == ["U0PERSON0", "U0PERSON0", "U0PERSON1", "U0PERSON2"]

    upgrade(fresh_url)
    fresh_settings = make_settings(fresh_url, tmp_path, spool_dir=tmp_path / "fresh-spool")
    headers = {"Authorization": f"Bearer {issue_token(fresh_settings, 'upgrade', ['ingest', 'read', 'admin'])}"}
    with TestClient(create_app(fresh_settings, waker=RecordingWaker())) as client:
        for method, path, body in requests:
            if path == "drain":
                drain(fresh_settings)
                continue
            assert client.request(method, path, json=body, headers=headers).status_code < 300, path
    drain(fresh_settings)
    fixed_clock(fresh_url)

    assert figures(upgraded_url, tmp_path) == figures(fresh_url, tmp_path)
