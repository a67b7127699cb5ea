"""An admin write that meets a lock another transaction holds waits a bounded time, then answers 503 with
Retry-After (issue 26 #12): it never hangs for the whole of someone else's transaction (a rebuild, an import).
Both backends: SQLite's file lock, PostgreSQL's table lock."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from service.app.api.errors import RETRY_AFTER_SECONDS
from service.app.web.app import create_app
from service.core.settings import Settings
from tests.factories import issue_token
from tests.fakes import RecordingWaker
from tests.helpers import PG_ADMIN_DSN, make_settings


@contextmanager
def another_writer(url: str) -> Iterator[None]:
    """Another process's open write transaction: SQLite's write lock, or PostgreSQL's lock on the table."""
    if url.startswith("sqlite"):
        holder = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    with psycopg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{make_url(url).database}") as pg_holder:
        pg_holder.execute("LOCK TABLE service IN EXCLUSIVE MODE")  # reads go on; writes wait
        yield
        pg_holder.rollback()


@pytest.fixture
def lock_settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, admin_lock_timeout_seconds=0.3)


def test_an_admin_write_behind_a_held_lock_is_a_503_with_retry_after(lock_settings: Settings) -> None:
    admin = {"Authorization": f"Bearer {issue_token(lock_settings, 'a', ['admin', 'read'])}"}
    with TestClient(create_app(lock_settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        assert client.put("/api/v1/services/payments", json={"team": "a"}, headers=admin).status_code == 200
        with another_writer(lock_settings.database_url):
            busy = client.put("/api/v1/services/payments", json={"team": "b"}, headers=admin)
            read = client.get("/api/v1/services", headers=admin)
        after = client.put("/api/v1/services/payments", json={"team": "c"}, headers=admin)

    assert busy.status_code == 503, busy.text
    assert busy.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert busy.json()["error"]["code"] == "database_busy"
    assert "waited 0.3 s" in busy.json()["error"]["message"]
    assert (read.status_code, [s["team"] for s in read.json()]) == (200, ["a"])  # readers are not held up
    assert (after.status_code, after.json()["team"]) == (200, "c")
