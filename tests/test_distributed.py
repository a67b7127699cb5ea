"""Distributed mode end to end: the real API, a real Celery worker, Redis and PostgreSQL.

No eager mode: messages go through Redis, tasks run in a worker, and a killed worker is a real process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from bench.chaos import writing_transactions
from service.app.api.app import create_app
from service.core.db import get_engine
from service.core.models import Change, Deployment, InboxEvent, Incident
from service.core.settings import Settings, get_settings
from service.ingest import inbox
from tests.factories import T0, issue_token, make_change, make_deployment, make_incident, sha
from tests.fakes import RecordingWaker
from tests.helpers import REDIS_URL, make_settings
from workers.celery_app import app as celery_app
from workers.celery_app import configure, create_celery
from workers.names import DRAIN_TASK, SWEEP_TASK

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:  # a missing server is a failure, never a skip
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture
def distributed_settings(
    pg_database_url: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Settings the API, the in-test worker and worker subprocesses all read (the env is their channel)."""
    monkeypatch.setenv("FRICTIONLOG_DATABASE_URL", pg_database_url)
    monkeypatch.setenv("FRICTIONLOG_BROKER_URL", redis_url)
    monkeypatch.setenv("FRICTIONLOG_INGEST_RETRY_BASE_SECONDS", "0")
    get_settings.cache_clear()
    yield make_settings(pg_database_url, tmp_path, broker_url=redis_url)
    get_settings.cache_clear()


def count(session: Session, model: Any) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_300_events_with_resends_and_invalid_ones_become_exactly_the_expected_rows(
    distributed_settings: Settings,
) -> None:
    """250 distinct valid events, 50 exact resends of them, and 20 invalid ones, through Redis and a worker."""
    deployments = [make_deployment(f"d-{i}", finished_at=T0 + timedelta(minutes=i)) for i in range(150)]
    changes = [make_change(sha(i), timestamp=T0 - timedelta(minutes=i)) for i in range(60)]
    incidents = [make_incident(f"INC-{i}", started_at=T0 + timedelta(hours=i)) for i in range(40)]
    unique = deployments + changes + incidents
    resends = unique[::5]
    invalid = [{**make_deployment(f"bad-{i}"), "status": "exploded"} for i in range(10)] + [
        {key: value for key, value in make_incident(f"bad-{i}").items() if key != "started_at"} for i in range(10)
    ]
    assert (len(unique), len(resends), len(invalid)) == (250, 50, 20)

    configure(celery_app, distributed_settings)
    token = issue_token(distributed_settings, "ci", ["ingest"])
    headers = {"Authorization": f"Bearer {token}"}
    codes: dict[str, list[int]] = {"new": [], "resend": [], "invalid": []}
    with (
        start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30),
        TestClient(create_app(distributed_settings)) as client,
    ):
        for kind, events in (("new", unique), ("resend", resends), ("invalid", invalid)):
            for event in events:
                codes[kind].append(client.post("/webhooks/generic", json=event, headers=headers).status_code)
        engine = get_engine(distributed_settings.database_url)

        def drained() -> bool:
            with Session(engine) as db:
                return inbox.count_by_status(db)["pending"] == 0

        wait_for(drained, timeout=60, what="the worker to drain the inbox")

    assert set(codes["new"]) == {202}
    assert set(codes["resend"]) == {200}
    assert set(codes["invalid"]) == {422}
    with Session(get_engine(distributed_settings.database_url)) as db:
        assert inbox.count_by_status(db) == {"pending": 0, "processed": 250, "ignored": 0, "failed": 0}
        assert db.exec(select(col(InboxEvent.attempts)).distinct()).all() == [1]
        assert sorted(db.exec(select(Deployment.external_id)).all()) == sorted(e["id"] for e in deployments)
        assert sorted(db.exec(select(Change.sha)).all()) == sorted(e["sha"] for e in changes)
        assert sorted(db.exec(select(Incident.external_id)).all()) == sorted(e["id"] for e in incidents)


def _worker_process(database_url: str, redis_url: str, log: Path, name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FRICTIONLOG_DATABASE_URL": f"{database_url}?application_name={name}",
        "FRICTIONLOG_BROKER_URL": redis_url,
        "FRICTIONLOG_SWEEP_AFTER_SECONDS": "1",
        "FRICTIONLOG_INGEST_BATCH_SIZE": "200",
    }
    command = [sys.executable, "-m", "service.app.cli", "worker", "--concurrency", "1", "--name", f"{name}@%h"]
    with log.open("wb") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def test_a_worker_killed_while_holding_claimed_events_loses_and_doubles_nothing(
    distributed_settings: Settings, tmp_path: Path
) -> None:
    database = distributed_settings.database_url.rsplit("/", 1)[1]
    token = issue_token(distributed_settings, "ci", ["ingest"])
    headers = {"Authorization": f"Bearer {token}"}
    total = 6000
    with TestClient(create_app(distributed_settings, waker=RecordingWaker())) as client:
        for start in range(0, total, 500):
            batch = [
                make_deployment(
                    f"d-{i}",
                    finished_at=T0 + timedelta(seconds=i),
                    commits=[(sha(2 * i), T0 - timedelta(hours=1)), (sha(2 * i + 1), T0 - timedelta(hours=2))],
                )
                for i in range(start, start + 500)
            ]
            assert client.post("/webhooks/generic", json=batch, headers=headers).status_code == 202
    sender = create_celery(distributed_settings)

    first = _worker_process(
        distributed_settings.database_url, distributed_settings.broker_url or "", tmp_path / "a.log", "fl-worker-a"
    )
    try:
        sender.send_task(DRAIN_TASK)
        wait_for(
            lambda: writing_transactions(database, "fl-worker-a") > 0,
            timeout=60,
            what="worker A to hold a batch of claimed events in an open transaction",
        )
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)

    engine = get_engine(distributed_settings.database_url)
    with Session(engine) as db:
        after_kill = inbox.count_by_status(db)
    assert after_kill["pending"] > 0, "the kill came too late to test anything"

    second = _worker_process(
        distributed_settings.database_url, distributed_settings.broker_url or "", tmp_path / "b.log", "fl-worker-b"
    )
    try:
        time.sleep(1.1)  # let the pending rows age past FRICTIONLOG_SWEEP_AFTER_SECONDS
        sender.send_task(SWEEP_TASK)  # what beat does every minute: nothing waits on the lost message

        def drained() -> bool:
            with Session(engine) as db:
                return inbox.count_by_status(db)["pending"] == 0

        wait_for(drained, timeout=120, what="worker B to process what A left")
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=30)

    with Session(engine) as db:
        assert inbox.count_by_status(db) == {"pending": 0, "processed": total, "ignored": 0, "failed": 0}
        assert db.exec(select(col(InboxEvent.attempts)).distinct()).all() == [1]
        assert count(db, Deployment) == total
        assert count(db, Change) == 2 * total


def test_every_vendor_source_through_the_route_redis_and_a_real_worker(distributed_settings: Settings) -> None:
    from tests.vendors import (
        GL_PROJECT,
        OPSGENIE_TOKEN,
        gh_commit,
        gh_deployment_status,
        gh_push,
        github_request,
        gl_request,
        pd_incident_event,
        pd_request,
    )

    configure(celery_app, distributed_settings)
    gitlab_deploy = {
        "object_kind": "deployment",
        "status": "success",
        "status_changed_at": "2026-10-05 14:00:00 +0200",
        "deployment_id": 15,
        "environment": "production",
        "short_sha": sha(9)[:8],
        "commit_url": f"https://gitlab.example.com/acme/ledger/-/commit/{sha(9)}",
        "project": GL_PROJECT,
    }
    opsgenie_alert = {
        "action": "Create",
        "alert": {
            "alertId": "og-1",
            "message": "lag",
            "tags": ["service:ledger"],
            "createdAt": int(T0.timestamp() * 1000),
        },
    }
    requests: list[tuple[str, dict[str, Any]]] = [
        ("/webhooks/github", github_request("push", gh_push("main", [gh_commit(sha(1), T0 - timedelta(hours=2))]))),
        ("/webhooks/github", github_request("deployment_status", gh_deployment_status(1, sha(1), "success", T0))),
        ("/webhooks/github", github_request("ping", {"zen": "x"})),
        ("/webhooks/gitlab", gl_request("Deployment Hook", gitlab_deploy)),
        ("/webhooks/pagerduty", pd_request(pd_incident_event("incident.triggered", "PD1", T0, created=T0))),
        ("/webhooks/pagerduty", pd_request(pd_incident_event("incident.resolved", "PD1", T0 + timedelta(minutes=40)))),
        ("/webhooks/opsgenie", {"json": opsgenie_alert, "headers": {"X-Frictionlog-Token": OPSGENIE_TOKEN}}),
    ]
    with (
        start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30),
        TestClient(create_app(distributed_settings)) as client,
    ):
        for url, kwargs in requests:
            assert client.post(url, **kwargs).status_code == 202, url
        engine = get_engine(distributed_settings.database_url)

        def drained() -> bool:
            with Session(engine) as db:
                return inbox.count_by_status(db)["pending"] == 0

        wait_for(drained, timeout=60, what="the worker to drain the inbox")

    with Session(get_engine(distributed_settings.database_url)) as db:
        assert inbox.count_by_status(db) == {"pending": 0, "processed": 6, "ignored": 1, "failed": 0}
        deployments = sorted(db.exec(select(Deployment.source, Deployment.external_id, Deployment.status)).all())
        assert deployments == [("github", "1", "success"), ("gitlab", "15", "success")]
        incidents = sorted(db.exec(select(Incident.source, Incident.external_id, Incident.status)).all())
        assert incidents == [("opsgenie", "og-1", "triggered"), ("pagerduty", "PD1", "resolved")]
        assert db.exec(select(Change.sha)).all() == [sha(1)]


def test_an_import_that_outlasts_the_brokers_visibility_timeout_runs_once(
    distributed_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis hands a message nobody acknowledged out again once its visibility timeout passes (300 s; 2 s
    here, its scan every second). An import runs for hours: it is acknowledged when taken, so it never runs
    again beside itself, spending the vendor's rate limit twice (a run cut off is taken up from the database)."""
    from integrations.history import runs
    from workers.names import AGGREGATE_QUEUE, IMPORT_SCHEDULED_TASK

    started: list[float] = []

    def long_import(_settings: Settings) -> dict[str, str]:
        started.append(time.monotonic())
        time.sleep(5.0)
        return {}

    monkeypatch.setattr(runs, "run_scheduled", long_import)
    configure(celery_app, distributed_settings)
    options = {"visibility_timeout": 2, "unacked_restore_interval": 1, "unacked_restore_throttle": 1}
    monkeypatch.setitem(celery_app.conf, "broker_transport_options", options)
    with start_worker(celery_app, pool="threads", concurrency=2, queues=[AGGREGATE_QUEUE], perform_ping_check=False):
        celery_app.send_task(IMPORT_SCHEDULED_TASK)
        wait_for(lambda: bool(started), timeout=30, what="the worker to start the import")
        time.sleep(9.0)  # the import's 5 s, and past two visibility timeouts after it started
    assert len(started) == 1
