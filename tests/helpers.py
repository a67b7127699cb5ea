"""Helpers the tests import (conftest.py holds fixtures only): the test servers, settings, emptying tables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import SQLModel

from service.core.db import get_engine
from service.core.records import Ignored, ParseResult, Record
from service.core.settings import Settings
from tests.vendors import GITHUB_SECRET, GITLAB_TOKEN, OPSGENIE_TOKEN, PAGERDUTY_SECRET

PG_ADMIN_DSN = os.environ.get("FRICTIONLOG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("FRICTIONLOG_TEST_REDIS", "redis://127.0.0.1:6379/15")


def pg_url(dsn: str, database: str) -> str:
    base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{database}"


def empty_all_tables(url: str) -> None:
    engine = get_engine(url)
    names = [table.name for table in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                connection.execute(text(f"DELETE FROM {name}"))


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
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


def records_of(result: ParseResult) -> list[Record]:
    """The records a parser made of a delivery the test expects it to use (``Ignored`` there is a failure)."""
    assert not isinstance(result, Ignored), result
    return result


def slack_report_delivery(text: str, reporter: str) -> Any:
    """A friction report exactly as the Slack listeners write it to the inbox (source ``slack``): the only
    kind whose reporter is a Slack user id the app may DM (an API ``reporter`` is a contact)."""
    from integrations import friction_api
    from integrations.registry import SLACK_SOURCE
    from integrations.slack.commands import report_body

    body = report_body(text, reporter=reporter, channel=None, delivery_id=f"slack-test:{reporter}:{text}")
    return friction_api.delivery(body, headers={}, source=SLACK_SOURCE)


@contextmanager
def serve_process(tree: Path, env: dict[str, str], log: Path, *, port: int, timeout: float = 120.0) -> Iterator[Any]:
    """``frictionlog serve --access-log`` from ``tree`` in a process of its own, as an operator runs it, its
    output in ``log``; yields the process once ``/healthz`` answers, and stops it on exit. The hostile-server
    tests and ``bench/oversized.py`` (which runs it for two trees) share it."""
    import subprocess
    import sys
    import time

    import httpx

    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.app.cli", "serve", "--port", str(port), "--access-log"],
            cwd=tree,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def get_ready(client: Any, url: str, *, timeout: float = 60.0, **kwargs: Any) -> Any:
    """GET a page that may answer "being prepared" first (a digest built in the background: a framed page
    that reloads itself, or 503 with Retry-After), and follow it as a browser would until it is ready."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        response = client.get(url, **kwargs)
        preparing = (response.status_code == 503 and "Retry-After" in response.headers) or (
            response.status_code == 200 and 'http-equiv="refresh"' in response.text
        )
        if not preparing or time.monotonic() > deadline:
            return response
        time.sleep(0.2)
