"""``frictionlog rebuild`` killed with SIGKILL at any moment loses and doubles nothing (issue 26 #2).

A real ``frictionlog rebuild --yes`` process over a store of a few thousand events, killed -9 at moments
picked by watching the database from outside: inside its one transaction (derived rows deleted, the inbox
not yet re-queued), while the re-queued events are being re-derived, and after they all are. Then the
worker restarts (``drain``) and the derived rows must equal those of a clean run: every row, once, with
the same links between them.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Table, select
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from integrations import generic
from service.core.db import get_engine
from service.core.models import DERIVED_TABLES
from service.core.settings import Settings
from service.ingest import inbox
from tests.factories import T0, make_deployment, make_incident, sha
from tests.helpers import PG_ADMIN_DSN
from workers.process import drain

pytestmark = [pytest.mark.slow]

DEPLOYMENTS = 2500
INCIDENTS = 250
APPLICATION = "fl-rebuild-kill"

Rows = dict[str, Counter[tuple[Any, ...]]]


def _store(settings: Settings) -> None:
    events: list[dict[str, Any]] = [
        make_deployment(
            f"d-{i}",
            service=f"svc-{i % 7}",
            finished_at=T0 + timedelta(minutes=i),
            commits=[(sha(2 * i), T0 - timedelta(hours=1)), (sha(2 * i + 1), T0 - timedelta(hours=2))],
        )
        for i in range(DEPLOYMENTS)
    ]
    events += [
        make_incident(f"INC-{i}", service=f"svc-{i % 7}", started_at=T0 + timedelta(minutes=10 * i + 1))
        for i in range(INCIDENTS)
    ]
    with Session(get_engine(settings.database_url)) as db:
        for start in range(0, len(events), 500):
            inbox.accept(db, generic.deliveries(events[start : start + 500], headers={}))
        db.commit()


def _derived(url: str) -> Rows:
    """Every derived row without its surrogate id; a link to another row is that row's own content."""
    tables = [SQLModel.metadata.tables[name] for name in DERIVED_TABLES]
    with get_engine(url).connect() as connection:
        raw = {table.name: [dict(row._mapping) for row in connection.execute(select(table))] for table in tables}
    own = {table.name: _own_columns(table) for table in tables}
    by_id = {
        name: {row["id"]: tuple(_hashable(row[c]) for c in own[name]) for row in rows}
        for name, rows in raw.items()
        if rows and "id" in rows[0]
    }
    result: Rows = {}
    for table in tables:
        links = [(c.name, next(iter(c.foreign_keys)).column.table.name) for c in table.c if c.foreign_keys]
        result[table.name] = Counter(
            tuple(_hashable(row[c]) for c in own[table.name])
            + tuple(by_id.get(target, {}).get(row[column]) for column, target in links)
            for row in raw[table.name]
        )
    return result


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, list | dict) else value


def _own_columns(table: Table) -> list[str]:
    return [c.name for c in table.c if not c.primary_key and not c.foreign_keys]


def _counts(url: str) -> dict[str, int]:
    with Session(get_engine(url)) as db:
        return inbox.count_by_status(db)


def _rebuild(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    url = settings.database_url
    if url.startswith("postgresql"):
        url = f"{url}?application_name={APPLICATION}"
    env = {**os.environ, "FRICTIONLOG_DATABASE_URL": url, "FRICTIONLOG_BROKER_URL": ""}
    command = [sys.executable, "-m", "service.app.cli", "rebuild", "--yes"]
    with log.open("wb") as output:
        return subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the rebuild ended (exit {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.002)


def _kill(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL


@contextmanager
def _inside_the_transaction(url: str) -> Iterator[Callable[[], bool]]:
    """Say when the rebuild has deleted the derived rows and not yet re-queued the inbox.

    PostgreSQL: the test holds one inbox row FOR UPDATE, so the rebuild's re-queue waits there after its
    deletes (its transaction has written: ``backend_xid`` is set). SQLite has no row lock: the moment is the
    first change the rebuild makes visible to a reader — with two commits, the deletion with nothing re-queued
    (the state of the bug); with one, the re-queue and the deletion at once."""
    if url.startswith("postgresql"):
        database = make_url(url).database
        with psycopg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}") as holder:
            holder.execute("SELECT id FROM inbox_event ORDER BY id DESC LIMIT 1 FOR UPDATE")
            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as watcher:

                def waiting() -> bool:
                    row = watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s"
                        " AND backend_xid IS NOT NULL AND wait_event_type = 'Lock'",
                        (database, APPLICATION),
                    ).fetchone()
                    return bool(row and row[0])

                yield waiting
            holder.rollback()
        return
    reader = sqlite3.connect(make_url(url).database or "", isolation_level=None)

    def visible() -> bool:
        deployments = reader.execute("SELECT count(*) FROM deployment").fetchone()[0]
        pending = reader.execute("SELECT count(*) FROM inbox_event WHERE status = 'pending'").fetchone()[0]
        return int(deployments) < DEPLOYMENTS or int(pending) > 0

    try:
        yield visible
    finally:
        reader.close()


MOMENTS = ("in_the_transaction", "re_deriving", "re_derived")


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_rebuild_killed_at_any_moment_leaves_a_store_the_worker_completes(
    settings: Settings, tmp_path: Path, moment: str
) -> None:
    url = settings.database_url
    _store(settings)
    drain(settings, budget_seconds=120)
    clean = _derived(url)
    assert sum(clean["deployment"].values()) == DEPLOYMENTS
    assert sum(clean["deployment_change"].values()) == 2 * DEPLOYMENTS
    assert sum(clean["incident"].values()) == INCIDENTS
    events = sum(_counts(url).values())

    process = _rebuild(settings, tmp_path / "rebuild.log")
    try:
        if moment == "in_the_transaction":
            with _inside_the_transaction(url) as inside:
                _wait_for(inside, process, "the rebuild to have deleted the derived rows")
                _kill(process)
        elif moment == "re_deriving":
            _wait_for(lambda: 0 < _counts(url)["pending"] < events, process, "the re-derivation to be under way")
            _kill(process)
            assert 0 < _counts(url)["pending"] < events, "the kill came too late to test anything"
        else:
            seen: list[int] = []

            def re_derived() -> bool:
                seen.append(_counts(url)["pending"])
                return max(seen) > 0 and seen[-1] == 0

            _wait_for(re_derived, process, "every re-queued event to be re-derived")
            _kill(process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)

    drain(settings, budget_seconds=120)  # the worker, restarted

    assert _counts(url) == {"pending": 0, "processed": events, "ignored": 0, "failed": 0}
    assert _derived(url) == clean
