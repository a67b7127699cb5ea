"""POST /webhooks/generic through the real HTTP route: acceptance, dedupe, and every documented rejection."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from service.core.models import InboxEvent
from service.core.settings import Settings
from tests.factories import T0, issue_token, make_change, make_deployment, make_incident, sha
from tests.fakes import RecordingWaker

URL = "/webhooks/generic"


def inbox_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(InboxEvent)).one()


def test_accepts_an_event_stores_it_and_wakes_the_workers(
    client: TestClient, ingest_headers: dict[str, str], session: Session, waker: RecordingWaker
) -> None:
    response = client.post(URL, json=make_deployment(), headers=ingest_headers)

    assert response.status_code == 202
    body = response.json()
    assert body["duplicate"] is False
    row = session.get(InboxEvent, body["id"])
    assert row is not None
    assert (row.source, row.event_type, row.status) == ("generic", "deployment", "pending")
    assert json.loads(row.body)["id"] == "d-1"
    assert "authorization" not in row.headers
    assert waker.wakes == 1


def test_an_exact_resend_is_a_duplicate_and_stores_nothing(
    client: TestClient, ingest_headers: dict[str, str], session: Session, waker: RecordingWaker
) -> None:
    first = client.post(URL, json=make_deployment(), headers=ingest_headers)
    again = client.post(URL, json=make_deployment(), headers=ingest_headers)

    assert again.status_code == 200
    assert again.json() == {"id": first.json()["id"], "duplicate": True}
    assert inbox_count(session) == 1
    assert waker.wakes == 1


def test_an_update_of_the_same_incident_is_a_new_delivery(
    client: TestClient, ingest_headers: dict[str, str], session: Session
) -> None:
    triggered = client.post(URL, json=make_incident(), headers=ingest_headers)
    resolved = client.post(
        URL, json=make_incident(status="resolved", resolved_at=T0 + timedelta(hours=2)), headers=ingest_headers
    )

    assert (triggered.status_code, resolved.status_code) == (202, 202)
    assert inbox_count(session) == 2


def test_the_senders_delivery_id_is_the_dedupe_key(
    client: TestClient, ingest_headers: dict[str, str], session: Session
) -> None:
    client.post(URL, json=make_deployment(delivery_id="hook-1"), headers=ingest_headers)
    retried = client.post(URL, json=make_deployment(delivery_id="hook-1", version="v2"), headers=ingest_headers)

    assert retried.json()["duplicate"] is True
    assert inbox_count(session) == 1


def test_a_batch_is_stored_event_by_event(client: TestClient, ingest_headers: dict[str, str], session: Session) -> None:
    events = [make_change(sha(i)) for i in range(3)] + [make_deployment()]
    client.post(URL, json=make_deployment(), headers=ingest_headers)

    response = client.post(URL, json=events, headers=ingest_headers)

    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (3, 1)
    assert [event["duplicate"] for event in body["events"]] == [False, False, False, True]
    assert inbox_count(session) == 4


def test_a_batch_with_one_bad_event_stores_none_and_names_it(
    client: TestClient, ingest_headers: dict[str, str], session: Session
) -> None:
    events = [make_change(sha(1)), make_deployment(status="exploded")]

    response = client.post(URL, json=events, headers=ingest_headers)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "1.status"
    assert inbox_count(session) == 0


def test_a_batch_over_500_events_is_refused(client: TestClient, ingest_headers: dict[str, str]) -> None:
    response = client.post(URL, json=[make_change(sha(i)) for i in range(501)], headers=ingest_headers)

    assert response.status_code == 422
    assert "at most 500" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({**make_deployment(), "status": "done"}, "status"),
        ({key: v for key, v in make_deployment().items() if key != "service"}, "service"),
        ({**make_deployment(), "finished_at": "last tuesday"}, "finished_at"),
        ({**make_deployment(), "finished_at": "2026-10-05T12:00:00"}, "finished_at"),
        ({**make_deployment(), "finished_at": "2999-01-01T00:00:00Z"}, "finished_at"),
        ({**make_deployment(), "finished_at": 1e18}, "finished_at"),
        (make_deployment(commits=[("not-a-sha", T0)]), "commits.0.sha"),
        ({key: v for key, v in make_deployment().items() if key != "finished_at"}, "finished_at"),
        ({key: v for key, v in make_incident().items() if key != "started_at"}, "started_at"),
        ({**make_change(), "pr_number": 0}, "pr_number"),
        ({**make_change(), "type": "release"}, "type"),
        ({**make_deployment(), "id": ""}, "id"),
        (make_incident(status="resolved"), "resolved_at"),  # resolved, but not when: not counted as unresolved
    ],
)
def test_schema_errors_are_422_naming_the_field(
    client: TestClient, ingest_headers: dict[str, str], session: Session, event: dict[str, object], field: str
) -> None:
    response = client.post(URL, json=event, headers=ingest_headers)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["field"] == field
    assert field in error["message"]
    assert inbox_count(session) == 0


def test_an_in_progress_deployment_needs_no_finish_time(client: TestClient, ingest_headers: dict[str, str]) -> None:
    event = {key: v for key, v in make_deployment(status="in_progress").items() if key != "finished_at"}

    assert client.post(URL, json=event, headers=ingest_headers).status_code == 202


def test_unix_seconds_are_accepted(client: TestClient, ingest_headers: dict[str, str]) -> None:
    event = {**make_deployment(), "finished_at": int(T0.timestamp())}

    assert client.post(URL, json=event, headers=ingest_headers).status_code == 202


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b'{"type": "deployment",', 400, "malformed_json"),
        (b"\xff\xfe not utf-8", 400, "malformed_json"),
        (b"[" * 100_000 + b"]" * 100_000, 400, "malformed_json"),
        (b'"just a string"', 422, "invalid"),
        (b"[]", 422, "invalid"),
    ],
)
def test_bodies_that_are_not_events_get_a_clear_4xx(
    client: TestClient, ingest_headers: dict[str, str], content: bytes, status: int, code: str
) -> None:
    headers = {**ingest_headers, "Content-Type": "application/json"}

    response = client.post(URL, content=content, headers=headers)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_a_body_over_the_cap_is_413(database_url: str, tmp_path: object, waker: RecordingWaker) -> None:
    from service.app.api.app import create_app
    from tests.helpers import make_settings

    settings = make_settings(database_url, tmp_path, max_body_bytes=2048)  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {issue_token(settings, 'ci', ['ingest'])}"}
    with TestClient(create_app(settings, waker=waker)) as client:
        big = make_deployment(url="https://ci.example/" + "x" * 1000, version="v" * 1200)
        response = client.post(URL, json=big, headers=headers)
        streamed = client.post(
            URL,
            content=iter([b"[", b" " * 4096, b"]"]),
            headers={**headers, "Content-Type": "application/json"},
        )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert streamed.status_code == 413


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_declared_json_is_415(
    client: TestClient, ingest_headers: dict[str, str], content_type: str
) -> None:
    response = client.post(
        URL, content=json.dumps(make_deployment()), headers={**ingest_headers, "Content-Type": content_type}
    )

    assert response.status_code == 415
    assert response.json()["error"]["field"] == "content-type"


def test_no_token_wrong_token_and_wrong_scope_are_refused(
    client: TestClient, settings: Settings, session: Session
) -> None:
    reader = issue_token(settings, "reader", ["read"])

    missing = client.post(URL, json=make_deployment())
    wrong = client.post(URL, json=make_deployment(), headers={"Authorization": "Bearer fl_not-a-token"})
    scope = client.post(URL, json=make_deployment(), headers={"Authorization": f"Bearer {reader}"})

    assert (missing.status_code, wrong.status_code, scope.status_code) == (401, 401, 403)
    assert missing.headers["www-authenticate"] == "Bearer"
    assert wrong.json()["error"]["code"] == "unauthorized"
    assert inbox_count(session) == 0


def test_the_token_is_checked_before_the_body_is_parsed(client: TestClient) -> None:
    response = client.post(
        URL,
        content=b"{not json",
        headers={"Authorization": "Bearer fl_wrong", "Content-Type": "application/json"},
    )

    assert response.status_code == 401


def test_a_revoked_token_is_refused(client: TestClient, settings: Settings) -> None:
    from service.core import tokens
    from service.core.db import session_scope

    secret = issue_token(settings, "old-ci", ["ingest"])
    with session_scope(settings.database_url, write=True) as db:
        tokens.revoke_token(db, name="old-ci")

    response = client.post(URL, json=make_deployment(), headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 401
