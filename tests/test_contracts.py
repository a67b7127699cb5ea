"""Typed contracts: the DORA result is a documented model, and every figure the computation returns is in it."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.core.models import InboxEvent
from service.core.settings import Settings
from service.figures.metrics.results import DoraResult
from tests.factories import T0, make_deployment, make_incident
from workers.process import drain


def test_openapi_documents_every_field_of_the_dora_result(client: TestClient) -> None:
    schema = client.app.openapi()  # type: ignore[attr-defined]
    ok = schema["paths"]["/api/v1/metrics/dora"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/DoraResult"}
    components = schema["components"]["schemas"]
    assert set(components["DoraResult"]["properties"]) == {
        "definitions_version", "bands_from", "from", "to", "deployment_frequency", "lead_time",
        "change_failure_rate", "time_to_restore", "rework_rate", "incidents", "warnings",
    }  # fmt: skip
    assert set(components["LeadTime"]["properties"]) >= {"median_seconds", "p90_seconds", "n", "band", "low_sample"}
    assert components["ChangeFailureRate"]["properties"]["rate"]["description"]


def test_the_dora_endpoint_answers_in_the_documented_shape(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    events = [make_deployment(f"d{i}", finished_at=T0 + timedelta(hours=i)) for i in range(6)]
    events.append(
        make_incident(
            status="resolved", started_at=T0 + timedelta(hours=2), resolved_at=(T0 + timedelta(hours=3)).isoformat()
        )
    )
    assert client.post("/webhooks/generic", json=events, headers=admin_headers).status_code == 202
    drain(settings)

    body = client.get(
        "/api/v1/metrics/dora", params={"from": "2026-10-01", "to": "2026-10-12"}, headers=admin_headers
    ).json()

    result = DoraResult.model_validate(body)  # extra="forbid": no undocumented field slipped through
    assert result.deployment_frequency.deployments == 6
    assert result.time_to_restore.n == 1
    assert body["from"].startswith("2026-10-01")


def test_every_route_keeps_the_same_headers_and_never_a_credential(
    client: TestClient, admin_headers: dict[str, str], session: Session
) -> None:
    from integrations.registry import KEPT_HEADERS
    from tests.vendors import REPO, gh_commit, gh_push, github_request

    github = github_request("push", gh_push("main", [gh_commit("a" * 40, T0)], repo=REPO))
    github["headers"]["X-Request-Id"] = "req-gh"
    assert client.post("/webhooks/github", **github).status_code == 202
    generic = {**admin_headers, "X-Request-Id": "req-generic", "User-Agent": "argocd-notifications"}
    assert client.post("/webhooks/generic", json=make_deployment(), headers=generic).status_code == 202
    friction = {**admin_headers, "X-Request-Id": "req-friction"}
    assert client.post("/api/v1/friction", json={"text": "slow builds"}, headers=friction).status_code == 202

    kept = {row.source: row.headers for row in session.exec(select(InboxEvent))}
    assert set(kept) == {"github", "generic", "api"}
    for source, headers in kept.items():
        assert set(headers) <= set(KEPT_HEADERS), source
        assert headers["x-request-id"].startswith("req-"), source
        assert not {"authorization", "x-hub-signature-256"} & set(headers), source
    assert kept["github"]["x-github-event"] == "push"
