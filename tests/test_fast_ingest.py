"""The lean ASGI path for the webhooks (POST /webhooks/generic and /webhooks/{source}) answers exactly what
the FastAPI routes it stands in for answer: the same statuses, envelopes and headers, the same stored rows
and duplicates, the same metrics."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from service.app.api.app import create_app
from service.app.api.fast_ingest import WebhookIngest
from service.app.api.inbox_writer import InboxWriter
from service.core.settings import Settings
from service.ingest.inbox import Delivery
from tests.factories import T0, issue_token, make_change, make_deployment, sha
from tests.fakes import RecordingWaker
from tests.helpers import empty_all_tables
from tests.vendors import (
    OPSGENIE_TOKEN,
    gh_commit,
    gh_deployment_status,
    gh_push,
    github_request,
    gl_request,
)

URL = "/webhooks/generic"


def _without_lean_path(app: FastAPI) -> FastAPI:
    lean: object = WebhookIngest
    kept = [m for m in app.user_middleware if m.cls is not lean]
    assert len(kept) == len(app.user_middleware) - 1  # the app as served does take the lean path
    app.user_middleware = kept
    return app


def _cases(ingest: str, read_only: str) -> list[tuple[str, dict[str, str], bytes]]:
    json_type = {"Content-Type": "application/json"}
    bearer = {"Authorization": f"Bearer {ingest}", **json_type}
    deployment = json.dumps(make_deployment()).encode()
    return [
        ("no token", json_type, deployment),
        ("not bearer", {"Authorization": f"Basic {ingest}", **json_type}, deployment),
        ("empty bearer", {"Authorization": "Bearer ", **json_type}, deployment),
        ("bearer, any case, spaced", {"Authorization": f"bEaReR   {ingest}", **json_type}, b'{"type": '),
        ("unknown token", {"Authorization": "Bearer nope", **json_type}, deployment),
        ("lacks the scope", {"Authorization": f"Bearer {read_only}", **json_type}, deployment),
        ("no token, bad JSON", json_type, b"{"),
        ("form", {**bearer, "Content-Type": "application/x-www-form-urlencoded"}, deployment),
        ("+json is json", {**bearer, "Content-Type": "application/vnd.acme+json"}, deployment),
        ("bad JSON", bearer, b'{"type": '),
        ("not UTF-8", bearer, b'{"type": "\xff"}'),
        (
            "lone surrogate",
            bearer,
            b'{"type":"change","sha":"abcdef1","repository":"\\ud800","timestamp":"2026-11-01T00:00:00Z"}',
        ),
        ("too deep", bearer, b"[" * 100_000 + b"]" * 100_000),
        ("not an object", bearer, b'"x"'),
        ("unknown type", bearer, b'{"type": "nope"}'),
        ("bad field", bearer, json.dumps({**make_deployment(), "finished_at": "yesterday"}).encode()),
        ("empty batch", bearer, b"[]"),
        ("batch with a bad event", bearer, json.dumps([make_change(), {"type": "change"}]).encode()),
        ("one event", bearer, deployment),
        ("its resend", bearer, deployment),
        ("a batch", bearer, json.dumps([make_change(), make_deployment("d-2"), make_deployment("d-2")]).encode()),
        ("the batch again", bearer, json.dumps([make_change(), make_deployment("d-2")]).encode()),
    ]


Case = tuple[str, str, dict[str, str], bytes]
"""(name, path, headers, body)"""


def _vendor_cases(ingest: str, read_only: str) -> list[Case]:
    push = github_request("push", gh_push("main", [gh_commit(sha(1), T0), gh_commit(sha(2), T0)]), delivery="p-1")
    status = github_request("deployment_status", gh_deployment_status(7, sha(1), "success", T0), delivery="s-1")
    ping = github_request("ping", {"zen": "Keep it logically awesome.", "hook_id": 1}, delivery="g-1")
    forged = {**push["headers"], "X-Hub-Signature-256": "sha256=" + "0" * 64}
    bad_json = github_request("push", {}, delivery="p-2")
    no_field = github_request("deployment_status", {"deployment_status": {}}, delivery="s-2")
    gitlab = gl_request("Push Hook", {"object_kind": "push", "commits": []})
    alert = json.dumps({"action": "Create", "alert": {"alertId": "a-1", "createdAt": 1_700_000_000_000}}).encode()
    json_type = {"Content-Type": "application/json"}
    return [
        ("github push", "/webhooks/github", push["headers"], push["content"]),
        ("its resend", "/webhooks/github", push["headers"], push["content"]),
        ("deployment_status", "/webhooks/github", status["headers"], status["content"]),
        ("ping: ignored", "/webhooks/github", ping["headers"], ping["content"]),
        ("forged signature", "/webhooks/github", forged, push["content"]),
        ("no signature", "/webhooks/github", json_type, push["content"]),
        ("signed, not JSON", "/webhooks/github", {**bad_json["headers"]}, b"{"),
        ("signed, form", "/webhooks/github", {**push["headers"], "Content-Type": "text/plain"}, push["content"]),
        ("a field missing", "/webhooks/github", no_field["headers"], no_field["content"]),
        ("gitlab", "/webhooks/gitlab", gitlab["headers"], gitlab["content"]),
        ("opsgenie, bearer", "/webhooks/opsgenie", {"Authorization": f"Bearer {ingest}", **json_type}, alert),
        ("opsgenie, bearer without ingest", "/webhooks/opsgenie", {"Authorization": f"Bearer {read_only}"}, alert),
        ("opsgenie, unknown bearer", "/webhooks/opsgenie", {"Authorization": "Bearer nope", **json_type}, alert),
        ("opsgenie, shared token", "/webhooks/opsgenie", {"X-Frictionlog-Token": OPSGENIE_TOKEN, **json_type}, alert),
        ("unknown source", "/webhooks/nope", json_type, b"{}"),
    ]


KEPT_HEADERS = ("content-type", "www-authenticate", "x-content-type-options")
Answer = tuple[str, int, object, tuple[str | None, ...]]


def _answers(app: FastAPI, settings: Settings) -> list[Answer]:
    """Every case through ``app`` on empty tables; row ids renumbered in order of first appearance."""
    empty_all_tables(settings.database_url)
    ingest, read_only = issue_token(settings, "ci", ["ingest"]), issue_token(settings, "ro", ["read"])
    cases = [(name, URL, headers, body) for name, headers, body in _cases(ingest, read_only)]
    cases += _vendor_cases(ingest, read_only)
    ids: dict[int, int] = {}

    def renumber(value: object) -> object:
        if isinstance(value, dict):
            return {
                k: ids.setdefault(v, len(ids)) if k == "id" and isinstance(v, int) else renumber(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [renumber(item) for item in value]
        return value

    answers: list[Answer] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for name, path, headers, body in cases:
            response = client.post(path, content=body, headers=headers)
            kept = tuple(response.headers.get(header) for header in KEPT_HEADERS)
            answers.append((name, response.status_code, renumber(response.json()), kept))
    return answers


def test_every_answer_is_the_fastapi_routes_answer(settings: Settings) -> None:
    reference = _answers(_without_lean_path(create_app(settings, waker=RecordingWaker())), settings)
    lean = _answers(create_app(settings, waker=RecordingWaker()), settings)
    assert [status for _, status, _, _ in lean].count(202) >= 6  # the cases do reach the insert
    assert len({status for _, status, _, _ in lean}) >= 8  # and many ways of refusing
    for got, want in zip(lean, reference, strict=True):
        assert got == want


def test_an_oversized_body_is_refused_by_the_edge_before_the_route(client: TestClient, settings: Settings) -> None:
    headers = {"Authorization": f"Bearer {issue_token(settings, 'ci', ['ingest'])}", "Content-Type": "application/json"}
    response = client.post(URL, content=b" " * (settings.max_body_bytes + 1), headers=headers)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_the_request_metrics_still_name_the_route(client: TestClient, ingest_headers: dict[str, str]) -> None:
    client.post(URL, json=make_deployment(), headers=ingest_headers)
    client.post("/webhooks/github", **github_request("push", gh_push("main", [gh_commit(sha(1), T0)])))
    exposition = client.get("/metrics").text
    assert 'frictionlog_http_requests_total{method="POST",route="/webhooks/generic",status="202"} 1.0' in exposition
    assert 'frictionlog_http_requests_total{method="POST",route="/webhooks/{source}",status="202"} 1.0' in exposition


def test_the_writer_reports_an_unreachable_postgres_as_operational_error() -> None:
    """What the route catches to fall back to the spool, now that the writer speaks psycopg directly."""
    import asyncio

    writer = InboxWriter("postgresql+psycopg://postgres@127.0.0.1:1/none")
    delivery = Delivery(source="generic", event_type="change", delivery_key="k", body="{}", headers={})
    try:
        with pytest.raises(OperationalError):
            asyncio.run(writer.accept([delivery]))
    finally:
        writer.close()


def test_every_way_in_refuses_with_the_same_bytes(client: TestClient, settings: Settings) -> None:
    """One envelope, one token check: the edge middleware (a body under /api/), a route's dependency (a
    read) and the lean webhook path answer a bad token, and a token without the scope, alike."""
    bad = {"Authorization": "Bearer nope", "Content-Type": "application/json"}
    answers = [
        client.post("/api/v1/friction", content=b"{}", headers=bad),  # RequestGuard, before the body
        client.get("/api/v1/friction", headers=bad),  # require_scope, through FastAPI's handler
        client.post(URL, content=b"{}", headers=bad),  # the lean path
    ]
    assert {answer.status_code for answer in answers} == {401}
    assert len({answer.content for answer in answers}) == 1
    assert answers[0].json()["error"] == {
        "code": "unauthorized",
        "message": "invalid or revoked API token",
        "field": None,
    }
    for answer in answers:
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["content-length"] == str(len(answer.content))
    read_only = {"Authorization": f"Bearer {issue_token(settings, 'ro', ['read'])}", "Content-Type": "application/json"}
    forbidden = [client.post(path, content=b"{}", headers=read_only) for path in (URL, "/api/v1/friction")]
    assert [answer.status_code for answer in forbidden] == [403, 403]
    assert forbidden[0].content == forbidden[1].content
    assert forbidden[0].json()["error"]["message"] == "this token lacks the 'ingest' scope"
