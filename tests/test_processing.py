"""Inbox → canonical rows through the drain loop both modes share, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from integrations import generic
from service.core.db import get_engine
from service.core.models import Change, Deployment, DeploymentChange, InboxEvent, Incident, Service
from service.core.settings import Settings
from service.ingest import inbox
from tests.factories import T0, make_deployment, make_incident, sha
from tests.helpers import make_settings
from workers.process import drain

URL = "/webhooks/generic"


def post_all(client: TestClient, headers: dict[str, str], *events: dict[str, Any]) -> None:
    for event in events:
        response = client.post(URL, json=event, headers=headers)
        assert response.status_code in (200, 202), response.text


def test_a_deployment_becomes_rows_with_its_commits_and_service(
    client: TestClient, ingest_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    commits = [(sha(1), T0 - timedelta(hours=5)), (sha(2), T0 - timedelta(hours=2))]
    post_all(client, ingest_headers, make_deployment(commits=commits, commit_sha=sha(2), repository="acme/checkout"))

    stats = drain(settings)

    assert (stats.processed, stats.failed) == (1, 0)
    deployment = session.exec(select(Deployment)).one()
    assert (deployment.service, deployment.status, deployment.sha) == ("checkout-api", "success", sha(2))
    assert deployment.finished_at == T0
    links = session.exec(select(DeploymentChange)).all()
    changes = {c.id: c for c in session.exec(select(Change))}
    assert sorted((changes[link.change_id].sha, changes[link.change_id].committed_at) for link in links) == sorted(
        commits
    )
    assert session.exec(select(Service.slug)).all() == ["checkout-api"]
    assert session.exec(select(InboxEvent.status)).all() == ["processed"]


def test_triggered_then_resolved_updates_one_incident(
    client: TestClient, ingest_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    started = T0 + timedelta(hours=1)
    post_all(
        client,
        ingest_headers,
        make_incident(started_at=started, severity="sev2"),
        make_incident(status="resolved", started_at=started, resolved_at=started + timedelta(minutes=45)),
    )

    drain(settings)

    incident = session.exec(select(Incident)).one()
    assert (incident.status, incident.severity) == ("resolved", "sev2")
    assert incident.resolved_at == started + timedelta(minutes=45)


def test_a_late_triggered_event_does_not_reopen_a_resolved_incident(
    client: TestClient, ingest_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    resolved_at = T0 + timedelta(hours=3)
    post_all(client, ingest_headers, make_incident(status="resolved", resolved_at=resolved_at))
    drain(settings)
    post_all(client, ingest_headers, make_incident(status="triggered"))
    drain(settings)

    incident = session.exec(select(Incident)).one()
    assert (incident.status, incident.resolved_at) == ("resolved", resolved_at)


def test_an_in_progress_event_never_overwrites_an_outcome(
    client: TestClient, ingest_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    post_all(client, ingest_headers, make_deployment(status="failure"))
    drain(settings)
    post_all(client, ingest_headers, make_deployment(status="in_progress"))
    drain(settings)

    assert session.exec(select(Deployment.status)).one() == "failure"


def test_one_batch_repeating_a_deployment_ends_as_if_applied_one_by_one(
    client: TestClient,
    ingest_headers: dict[str, str],
    settings: Settings,
    session: Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """PostgreSQL writes a batch as one statement per round, with a repeated key in a later round."""
    post_all(
        client,
        ingest_headers,
        make_deployment(status="in_progress", version="v1"),
        make_deployment(status="success"),
        make_deployment(status="in_progress", url="https://ci.example.com/run/7"),
        make_deployment("d-2", status="failure"),
    )

    stats = drain(settings)

    assert (stats.batches, stats.processed) == (2, 4)  # one batch of four, then an empty claim
    assert "batch_apply_failed" not in caplog.text  # applied as one batch, not row by row after an error
    rows = session.exec(select(Deployment).order_by(col(Deployment.external_id))).all()
    assert [(d.external_id, d.status, d.version, d.url) for d in rows] == [
        ("d-1", "success", "v1", "https://ci.example.com/run/7"),
        ("d-2", "failure", None, None),
    ]


def test_an_incident_links_to_the_named_deployment_even_when_it_arrives_first(
    client: TestClient, ingest_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    post_all(client, ingest_headers, make_incident(caused_by_deployment="d-7"))
    drain(settings)
    post_all(client, ingest_headers, make_deployment("d-7", finished_at=T0))
    drain(settings)

    incident = session.exec(select(Incident)).one()
    deployment = session.exec(select(Deployment)).one()
    assert (incident.caused_by_deployment_id, incident.link_method) == (deployment.id, "explicit")


def test_an_incident_links_by_commit_then_by_window(
    client: TestClient, ingest_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    post_all(
        client,
        ingest_headers,
        make_deployment("d-1", finished_at=T0, commit_sha=sha(1)),
        make_deployment("d-2", finished_at=T0 + timedelta(hours=2), commit_sha=sha(2)),
        make_deployment("d-staging", environment="staging", finished_at=T0 + timedelta(hours=3)),
    )
    drain(settings)
    post_all(
        client,
        ingest_headers,
        make_incident("by-sha", started_at=T0 + timedelta(hours=4), commit_sha=sha(1)),
        make_incident("by-window", started_at=T0 + timedelta(hours=4)),
        make_incident("too-late", started_at=T0 + timedelta(days=3)),
    )
    drain(settings)

    ids = {d.external_id: d.id for d in session.exec(select(Deployment))}
    links = {i.external_id: (i.caused_by_deployment_id, i.link_method) for i in session.exec(select(Incident))}
    assert links == {
        "by-sha": (ids["d-1"], "sha"),
        "by-window": (ids["d-2"], "window"),
        "too-late": (None, None),
    }


def test_the_window_links_an_incident_that_starts_exactly_at_its_end_and_not_a_second_later(
    client: TestClient, ingest_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    window = timedelta(hours=settings.incident_link_window_hours)
    post_all(client, ingest_headers, make_deployment("d-1", finished_at=T0, commit_sha=sha(1)))
    drain(settings)
    post_all(
        client,
        ingest_headers,
        make_incident("at-the-edge", started_at=T0 + window),
        make_incident("a-second-late", started_at=T0 + window + timedelta(seconds=1)),
        make_incident("before-it", started_at=T0 - timedelta(seconds=1)),
    )
    drain(settings)

    deployment_id = session.exec(select(Deployment.id)).one()
    links = {i.external_id: (i.caused_by_deployment_id, i.link_method) for i in session.exec(select(Incident))}
    assert links == {
        "at-the-edge": (deployment_id, "window"),
        "a-second-late": (None, None),
        "before-it": (None, None),
    }


def test_the_window_links_only_incidents_a_change_may_have_caused_and_keeps_explicit_links(
    client: TestClient, ingest_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    post_all(client, ingest_headers, make_deployment("d-1", finished_at=T0, commit_sha=sha(1)))
    drain(settings)
    later = T0 + timedelta(hours=2)
    post_all(
        client,
        ingest_headers,
        make_incident("outage", started_at=later, category="infrastructure"),
        make_incident("bug", started_at=later, category="application"),
        make_incident("unclassified", started_at=later),
        make_incident("named-outage", started_at=later, category="infrastructure", caused_by_deployment="d-1"),
        make_incident("sha-outage", started_at=later, category="infrastructure", commit_sha=sha(1)),
    )
    drain(settings)

    deployment_id = session.exec(select(Deployment.id)).one()
    links = {i.external_id: (i.caused_by_deployment_id, i.link_method) for i in session.exec(select(Incident))}
    assert links == {
        "outage": (None, None),  # a platform outage is not a change failure
        "bug": (deployment_id, "window"),
        "unclassified": (deployment_id, "window"),
        "named-outage": (deployment_id, "explicit"),
        "sha-outage": (deployment_id, "sha"),
    }
    # reclassified as infrastructure later: its window link goes
    resolved = make_incident(
        "bug", started_at=later, category="infrastructure", status="resolved", resolved_at=later + timedelta(hours=1)
    )
    answer = client.post(URL, json=resolved, headers=ingest_headers)
    assert answer.status_code == 202, answer.text
    drain(settings)
    session.rollback()  # a new read: the test's open transaction would keep its snapshot
    bug = session.exec(select(Incident).where(Incident.external_id == "bug")).one()
    assert (bug.category, bug.caused_by_deployment_id, bug.link_method) == ("infrastructure", None, None)


def test_platform_is_resolved_from_the_services_history(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    history = [
        {"platform": "legacy", "effective_from": "2025-01-01T00:00:00Z"},
        {"platform": "new", "effective_from": "2026-10-06T00:00:00Z"},
    ]
    assert client.put("/api/v1/services/checkout-api", json={"platforms": history}, headers=admin_headers).is_success
    post_all(
        client,
        admin_headers,
        make_deployment("before", finished_at=T0),
        make_deployment("after", finished_at=T0 + timedelta(days=2)),
        make_deployment("explicit", finished_at=T0, platform="edge"),
    )
    drain(settings)

    platforms = dict(session.exec(select(Deployment.external_id, Deployment.platform)).all())
    assert platforms == {"before": "legacy", "after": "new", "explicit": "edge"}


def test_an_event_whose_apply_keeps_failing_is_retried_then_left_failed(
    client: TestClient, ingest_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    post_all(client, ingest_headers, make_deployment())
    event_id = session.exec(select(InboxEvent.id)).one()
    # A body the edge accepted but the parser now rejects (as after a parser change): failed at once.
    session.exec(select(InboxEvent).where(InboxEvent.id == event_id)).one().body = '{"type": "deployment"}'
    session.commit()

    drain(settings)

    session.rollback()  # end the read snapshot (SQLite WAL keeps one per transaction)
    row = session.get(InboxEvent, event_id)
    assert row is not None
    assert row.status == "failed"
    assert row.error is not None
    assert row.error.startswith("invalid:")


def test_retries_back_off_until_max_attempts(session: Session) -> None:
    session.add(
        InboxEvent(source="generic", event_type="deployment", delivery_key="k", body="{}", headers={}, attempts=0)
    )
    session.commit()
    row = session.exec(select(InboxEvent)).one()

    outcomes = [inbox.schedule_retry(row, "boom", max_attempts=3, base_seconds=10) for _ in range(3)]

    assert outcomes == [True, True, False]
    assert row.status == "failed"
    assert row.attempts == 3


def accept_directly(settings: Settings, *events: dict[str, Any]) -> None:
    with Session(get_engine(settings.database_url)) as db:
        for event in events:
            inbox.accept(db, generic.deliveries(event, headers={}))


# A service slug longer than its column breaks apply after the edge accepted it; PostgreSQL enforces
# VARCHAR lengths (SQLite does not), so these two run on PostgreSQL only.


def test_a_failing_apply_is_retried_with_backoff(pg_database_url: str, tmp_path: Path) -> None:
    settings = make_settings(pg_database_url, tmp_path, ingest_retry_base_seconds=3600)
    accept_directly(settings, make_deployment(environment="e" * 100), make_deployment("ok"))

    stats = drain(settings)

    assert (stats.processed, stats.retrying) == (1, 1)
    with Session(get_engine(settings.database_url)) as db:
        retrying = db.exec(select(InboxEvent).where(InboxEvent.status == "pending")).one()
        assert retrying.attempts == 1
        assert retrying.error is not None
        assert "StringDataRightTruncation" in retrying.error
    assert drain(settings).claimed == 0  # not due before its backoff has passed


def test_one_event_that_breaks_apply_does_not_hold_back_its_batch(pg_database_url: str, tmp_path: Path) -> None:
    settings = make_settings(pg_database_url, tmp_path, ingest_retry_base_seconds=3600)
    events = [make_deployment(f"ok-{i}") for i in range(5)] + [make_deployment("bad", environment="e" * 100)]
    accept_directly(settings, *events)

    stats = drain(settings)

    assert (stats.processed, stats.retrying, stats.batches) == (5, 1, 2)
    with Session(get_engine(settings.database_url)) as db:
        assert sorted(db.exec(select(Deployment.external_id)).all()) == [f"ok-{i}" for i in range(5)]


def test_replay_requeues_failed_events_and_they_process(
    client: TestClient, ingest_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    post_all(client, ingest_headers, make_deployment())
    row = session.exec(select(InboxEvent)).one()
    row.status, row.error = "failed", "a bug since fixed"
    session.commit()

    assert inbox.requeue(session, statuses=["failed"]) == 1
    drain(settings)

    session.rollback()  # end the read snapshot (SQLite WAL keeps one per transaction)
    assert session.exec(select(InboxEvent.status)).one() == "processed"
    assert session.exec(select(Deployment.external_id)).one() == "d-1"


def _snapshot(session: Session) -> dict[str, Any]:
    """Derived rows by natural key, with ids replaced by natural keys, for a row-for-row comparison."""
    deployments = {d.id: (d.source, d.external_id) for d in session.exec(select(Deployment))}
    changes = {c.id: (c.repository, c.sha) for c in session.exec(select(Change))}

    def strip(row: Any, *drop: str) -> dict[str, Any]:
        return {k: v for k, v in row.model_dump().items() if k not in ("id", *drop)}

    return {
        "deployment": sorted((tuple(sorted(strip(d).items())) for d in session.exec(select(Deployment))), key=repr),
        "change": sorted((tuple(sorted(strip(c).items())) for c in session.exec(select(Change))), key=repr),
        "deployment_change": sorted(
            (deployments[link.deployment_id], changes[link.change_id])
            for link in session.exec(select(DeploymentChange))
        ),
        "incident": sorted(
            (
                tuple(sorted(strip(i, "caused_by_deployment_id").items())),
                deployments.get(i.caused_by_deployment_id) if i.caused_by_deployment_id else None,
            )
            for i in session.exec(select(Incident))
        ),
    }


@pytest.mark.parametrize("seed", [3])
def test_rebuild_reproduces_the_derived_tables_row_for_row(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, session: Session, seed: int
) -> None:
    from click.testing import CliRunner

    from service.app.cli import main
    from service.app.demo.generate import generate
    from service.core.settings import get_settings

    data = generate(seed=seed, weeks=8, end=T0 + timedelta(weeks=8))
    for spec in data.services:
        body = {key: spec[key] for key in ("team", "tier", "platforms")}
        assert client.put(f"/api/v1/services/{spec['slug']}", json=body, headers=admin_headers).is_success
    response = client.post(URL, json=data.events[:500], headers=admin_headers)
    assert response.status_code == 202
    drain(settings)
    before = _snapshot(session)
    session.rollback()  # end the read transaction: SQLite has one writer, and the rebuild needs it
    assert len(before["deployment"]) > 50
    assert before["deployment_change"]
    assert before["incident"]

    env = {"FRICTIONLOG_DATABASE_URL": settings.database_url}
    get_settings.cache_clear()
    try:
        result = CliRunner(env=env).invoke(main, ["rebuild", "--yes"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    session.rollback()  # end the read snapshot (SQLite WAL keeps one per transaction)
    assert session.exec(select(col(InboxEvent.status)).distinct()).all() == ["processed"]
    assert _snapshot(session) == before


def test_a_deployment_arriving_after_its_incident_is_linked_by_window(
    client: TestClient, ingest_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    post_all(client, ingest_headers, make_incident("late-cause", started_at=T0 + timedelta(hours=1)))
    drain(settings)
    post_all(client, ingest_headers, make_deployment("d-1", finished_at=T0))
    drain(settings)

    incident = session.exec(select(Incident)).one()
    assert incident.link_method == "window"
    assert incident.caused_by_deployment_id == session.exec(select(Deployment.id)).one()


def test_a_held_batch_is_sized_to_the_hold_bound_from_the_last_batchs_time_per_row() -> None:
    from workers.process import held_batch_size

    assert held_batch_size(0.05, 0.1, 100, 500) == 50  # 1 ms a row: 50 rows fit in 50 ms
    assert held_batch_size(0.05, 0.001, 10, 500) == 20  # cheap rows: at most double the last batch
    assert held_batch_size(0.05, 0.0001, 400, 500) == 500  # never past the configured batch size
    assert held_batch_size(0.05, 10.0, 10, 500) == 1  # a slow row: still one at a time, never zero


def test_a_hold_bound_drains_everything_once_in_several_short_transactions(
    client: TestClient, ingest_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    post_all(client, ingest_headers, *[make_deployment(f"d-{n}") for n in range(120)])

    stats = drain(settings, hold_seconds=0.000_001)  # far shorter than any batch: one row per batch

    assert (stats.processed, stats.failed) == (120, 0)
    assert stats.batches > 50  # 50 rows first, then batches sized to the bound; never one 500-row batch
    assert sorted(d.external_id for d in session.exec(select(Deployment))) == sorted(f"d-{n}" for n in range(120))
