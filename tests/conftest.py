"""Fixtures: a real PostgreSQL and a SQLite database (the DB suite runs on both), apps, tokens, clients."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, SQLModel

from service.db import get_engine
from service.migrations import upgrade
from service.settings import Settings
from service.web.app import create_app
from tests.factories import issue_token
from tests.fakes import RecordingWaker
from tests.vendors import GITHUB_SECRET, GITLAB_TOKEN, OPSGENIE_TOKEN, PAGERDUTY_SECRET

PG_ADMIN_DSN = os.environ.get("FRICTIONLOG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("FRICTIONLOG_TEST_REDIS", "redis://127.0.0.1:6379/15")


def _pg_url(dsn: str, database: str) -> str:
    base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{database}"


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
    url = _pg_url(PG_ADMIN_DSN, name)
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


def _empty_all_tables(url: str) -> None:
    engine = get_engine(url)
    names = [table.name for table in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                connection.execute(text(f"DELETE FROM {name}"))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes this runs once per backend, on empty tables."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    _empty_all_tables(url)
    return url


@pytest.fixture
def pg_database_url(postgres_url: str) -> str:
    _empty_all_tables(postgres_url)
    return postgres_url


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "broker_url": None,
        "spool_dir": tmp_path / "spool",
        "ingest_retry_base_seconds": 0.0,
        "token_cache_seconds": 0.0,
        "github_webhook_secret": GITHUB_SECRET,
        "gitlab_webhook_token": GITLAB_TOKEN,
        "pagerduty_webhook_secret": PAGERDUTY_SECRET,
        "opsgenie_webhook_token": OPSGENIE_TOKEN,
        **overrides,
    }
    return Settings(_env_file=None, **values)


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
