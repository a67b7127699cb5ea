"""Fixtures: a real PostgreSQL and a SQLite database (the DB suite runs on both), apps, tokens, clients.

Helpers the tests import live in tests/helpers.py. A test that needs the real PostgreSQL is marked
``integration`` here, from the fixtures it uses (so ``-m "not integration"`` runs without servers)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.app.web.app import create_app
from service.core.db import get_engine
from service.core.settings import Settings
from service.migrations import upgrade
from tests.factories import issue_token
from tests.fakes import RecordingWaker
from tests.helpers import PG_ADMIN_DSN, empty_all_tables, make_settings, pg_url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the real server for this test run, dropped at the end."""
    name = f"frictionlog_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # a missing server is a failure, never a skip
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_DSN}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = pg_url(PG_ADMIN_DSN, name)
    upgrade(url)
    yield url
    get_engine(url).dispose()
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'frictionlog.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes this runs once per backend, on empty tables."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    empty_all_tables(url)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all (no migration run), once per backend: for tests that walk the
    migrations themselves. The PostgreSQL one is created for the test and dropped after it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"frictionlog_empty_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = pg_url(PG_ADMIN_DSN, name)
    yield url
    get_engine(url).dispose()
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_database_url(postgres_url: str) -> str:
    empty_all_tables(postgres_url)
    return postgres_url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    with Session(get_engine(settings.database_url), expire_on_commit=False) as db:
        yield db


@pytest.fixture
def waker() -> RecordingWaker:
    return RecordingWaker()


@pytest.fixture
def client(settings: Settings, waker: RecordingWaker) -> Iterator[TestClient]:
    with TestClient(create_app(settings, waker=waker), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def admin_headers(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(settings, 'admin', ['ingest', 'read', 'admin'])}"}


@pytest.fixture
def ingest_headers(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(settings, 'ci', ['ingest'])}"}


PG_FIXTURES = frozenset({"postgres_url", "pg_database_url", "pg_settings"})
"""Fixtures that reach the real PostgreSQL server; ``database_url`` and ``empty_url`` do when their parameter
is postgres."""


def needs_postgres(item: pytest.Item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    on_postgres = callspec is not None and "postgres" in (
        callspec.params.get("database_url"),
        callspec.params.get("empty_url"),
    )
    return bool(names & PG_FIXTURES) or on_postgres


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if needs_postgres(item) and item.get_closest_marker("integration") is None:
            item.add_marker(pytest.mark.integration)
