"""Reading the inbox over the API: failures to look at and counts to watch."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.core.models import InboxEvent
from service.core.settings import Settings
from tests.factories import issue_token, make_change, make_deployment, sha


def test_events_can_be_listed_by_status_and_paged(
    client: TestClient, admin_headers: dict[str, str], session: Session
) -> None:
    for i in range(3):
        client.post("/webhooks/generic", json=make_change(sha(i)), headers=admin_headers)
    first = session.exec(select(InboxEvent).order_by(InboxEvent.id)).first()  # type: ignore[arg-type]
    assert first is not None
    first.status, first.error = "failed", "boom"
    session.commit()

    failed = client.get("/api/v1/events", params={"status": "failed"}, headers=admin_headers).json()
    page = client.get("/api/v1/events", params={"limit": 2}, headers=admin_headers).json()
    older = client.get("/api/v1/events", params={"before_id": page[-1]["id"]}, headers=admin_headers).json()
    stats = client.get("/api/v1/events/stats", headers=admin_headers).json()

    assert [(e["id"], e["error"]) for e in failed] == [(first.id, "boom")]
    assert len(page) == 2
    assert [e["id"] for e in older] == [first.id]
    assert stats == {"pending": 2, "processed": 0, "ignored": 0, "failed": 1}


def test_an_unknown_status_is_422(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.get("/api/v1/events", params={"status": "lost"}, headers=admin_headers)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "status"


def test_reading_events_needs_the_read_scope(client: TestClient, settings: Settings) -> None:
    ingest_only = issue_token(settings, "ci", ["ingest"])
    client.post("/webhooks/generic", json=make_deployment(), headers={"Authorization": f"Bearer {ingest_only}"})

    assert client.get("/api/v1/events").status_code == 401
    assert client.get("/api/v1/events", headers={"Authorization": f"Bearer {ingest_only}"}).status_code == 403


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}


def test_unknown_routes_answer_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/nope")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_prometheus_metrics_report_requests_and_the_inbox(client: TestClient, admin_headers: dict[str, str]) -> None:
    client.post("/webhooks/generic", json=make_deployment(), headers=admin_headers)
    client.get("/api/v1/events", headers=admin_headers)

    text = client.get("/metrics").text

    assert 'frictionlog_inbox_events{status="pending"} 1.0' in text
    assert 'frictionlog_http_requests_total{method="POST",route="/webhooks/generic",status="202"} 1.0' in text
    assert "frictionlog_processing_lag_seconds " in text
    assert 'frictionlog_http_request_seconds_bucket{le="0.005",route="/api/v1/events"}' in text
