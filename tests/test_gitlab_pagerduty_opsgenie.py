"""GitLab, PagerDuty and Opsgenie webhooks through the HTTP route and the drain loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.core.models import Change, Deployment, Incident, PullRequest
from service.core.settings import Settings
from tests.factories import T0, iso, sha
from tests.vendors import GL_PROJECT, OPSGENIE_TOKEN, gl_request, pd_incident_event, pd_request
from workers.process import drain


def gl_deployment(deployment_id: int, status: str, changed: str, commit: str) -> dict[str, Any]:
    return {
        "object_kind": "deployment",
        "status": status,
        "status_changed_at": changed,
        "deployment_id": deployment_id,
        "deployable_id": 796,
        "deployable_url": "https://gitlab.example.com/acme/ledger/-/jobs/796",
        "environment": "production",
        "environment_tier": "production",
        "environment_slug": "production",
        "environment_external_url": "https://ledger.example.com",
        "project": GL_PROJECT,
        "short_sha": commit[:8],
        "user": {"id": 1, "name": "Administrator", "username": "root"},
        "user_url": "https://gitlab.example.com/root",
        "commit_url": f"https://gitlab.example.com/acme/ledger/-/commit/{commit}",
        "commit_title": "Fix the ledger rounding",
        "ref": "main",
    }


def test_gitlab_deployment_hook_with_gitlab_times_and_the_sha_from_commit_url(
    client: TestClient, settings: Settings, session: Session
) -> None:
    running = client.post(
        "/webhooks/gitlab",
        **gl_request("Deployment Hook", gl_deployment(15, "running", "2026-10-05 13:50:00 +0200", sha(1))),
    )
    done = client.post(
        "/webhooks/gitlab",
        **gl_request("Deployment Hook", gl_deployment(15, "success", "2026-10-05 12:05:00 UTC", sha(1))),
    )
    failed = client.post(
        "/webhooks/gitlab",
        **gl_request("Deployment Hook", gl_deployment(16, "failed", "2026-10-05 12:30:00 UTC", sha(2))),
    )
    drain(settings)

    assert [r.status_code for r in (running, done, failed)] == [202, 202, 202]
    rows = {d.external_id: d for d in session.exec(select(Deployment))}
    assert (rows["15"].status, rows["15"].sha, rows["15"].service) == ("success", sha(1), "ledger")
    assert rows["15"].started_at == datetime(2026, 10, 5, 11, 50, tzinfo=UTC)
    assert rows["15"].finished_at == datetime(2026, 10, 5, 12, 5, tzinfo=UTC)
    assert rows["16"].status == "failure"


def test_gitlab_push_and_merge_request_feed_lead_time(client: TestClient, settings: Settings, session: Session) -> None:
    def push(branch: str, commits: list[tuple[str, str]]) -> dict[str, Any]:
        return {
            "object_kind": "push",
            "event_name": "push",
            "before": "0" * 40,
            "after": commits[-1][0],
            "ref": f"refs/heads/{branch}",
            "checkout_sha": commits[-1][0],
            "user_username": "jsmith",
            "project": GL_PROJECT,
            "commits": [
                {
                    "id": commit,
                    "message": "change",
                    "title": "change",
                    "timestamp": at,
                    "url": f"https://gitlab.example.com/acme/ledger/-/commit/{commit}",
                    "author": {"name": "Jordi Mallach", "email": "jordi@example.com"},
                    "added": [],
                    "modified": ["app.rb"],
                    "removed": [],
                }
                for commit, at in commits
            ],
            "total_commits_count": len(commits),
        }

    merge_request = {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "project": GL_PROJECT,
        "object_attributes": {
            "iid": 5,
            "state": "merged",
            "action": "merge",
            "source_branch": "rounding",
            "target_branch": "main",
            "merge_commit_sha": sha(99),
            "updated_at": "2026-10-05 10:00:00 UTC",
        },
    }
    for event, payload in [
        ("Push Hook", push("main", [(sha(1), "2026-09-01T10:00:00+02:00")])),
        ("Deployment Hook", gl_deployment(1, "success", "2026-09-02 10:00:00 UTC", sha(1))),
        ("Push Hook", push("rounding", [(sha(10), "2026-10-04T09:00:00+02:00")])),
        ("Merge Request Hook", merge_request),
        ("Push Hook", push("main", [(sha(99), "2026-10-05T12:00:00+02:00")])),
        ("Deployment Hook", gl_deployment(2, "success", "2026-10-05 12:00:00 UTC", sha(99))),
    ]:
        assert client.post("/webhooks/gitlab", **gl_request(event, payload)).status_code == 202
    drain(settings)

    pr = session.exec(select(PullRequest)).one()
    assert (pr.number, pr.merge_commit_sha) == (5, sha(99))
    branch_commit = session.exec(select(Change).where(Change.sha == sha(10))).one()
    assert branch_commit.committed_at == datetime(2026, 10, 4, 7, 0, tzinfo=UTC)
    assert branch_commit.merged_into == sha(99)


def test_gitlab_wrong_token_is_401_and_idempotency_key_dedupes(client: TestClient) -> None:
    payload = gl_deployment(15, "success", "2026-10-05 12:05:00 UTC", sha(1))

    wrong = client.post("/webhooks/gitlab", **gl_request("Deployment Hook", payload, token="nope"))
    first = client.post("/webhooks/gitlab", **gl_request("Deployment Hook", payload, key="k-1"))
    again = client.post("/webhooks/gitlab", **gl_request("Deployment Hook", payload, key="k-1"))

    assert wrong.status_code == 401
    assert (first.status_code, again.status_code) == (202, 200)


def test_gitlab_unmapped_pipelines_and_unknown_hooks_are_ignored(client: TestClient) -> None:
    pipeline = {
        "object_kind": "pipeline",
        "object_attributes": {
            "id": 31,
            "name": "Build",
            "ref": "main",
            "sha": sha(1),
            "status": "success",
            "created_at": "2026-10-05 11:00:00 UTC",
            "finished_at": "2026-10-05 11:10:00 UTC",
        },
        "project": GL_PROJECT,
    }
    mapped_nowhere = client.post("/webhooks/gitlab", **gl_request("Pipeline Hook", pipeline)).json()
    wiki = client.post("/webhooks/gitlab", **gl_request("Wiki Page Hook", {"object_kind": "wiki_page"})).json()

    assert "not mapped" in mapped_nowhere["ignored"]
    assert "not used" in wiki["ignored"]


def test_pagerduty_triggered_then_resolved_gives_time_to_restore(
    client: TestClient, settings: Settings, session: Session
) -> None:
    started = T0 + timedelta(hours=1)
    trigger = pd_incident_event("incident.triggered", "PGR0VU2", started, created=started)
    ack = pd_incident_event("incident.acknowledged", "PGR0VU2", started + timedelta(minutes=4))
    resolve = pd_incident_event("incident.resolved", "PGR0VU2", started + timedelta(minutes=47))
    for payload in (resolve, trigger, ack):  # out of order on purpose
        assert client.post("/webhooks/pagerduty", **pd_request(payload)).status_code == 202
    drain(settings)

    incident = session.exec(select(Incident)).one()
    assert (incident.service, incident.status, incident.severity) == ("checkout-api", "resolved", "P1")
    assert incident.started_at == started
    assert incident.acknowledged_at == started + timedelta(minutes=4)
    assert incident.resolved_at == started + timedelta(minutes=47)


def test_pagerduty_accepts_any_matching_signature_during_rotation(client: TestClient) -> None:
    payload = pd_incident_event("incident.triggered", "P1", T0, created=T0)

    rotated = client.post("/webhooks/pagerduty", **pd_request(payload, secrets=("old-secret", "pd-test-secret")))
    wrong = client.post("/webhooks/pagerduty", **pd_request(payload, secrets=("old-secret", "another")))
    github_secret = client.post("/webhooks/pagerduty", **pd_request(payload, secrets=("gh-test-secret",)))

    assert (rotated.status_code, wrong.status_code, github_secret.status_code) == (202, 401, 401)


def test_pagerduty_ping_and_unused_events_are_ignored_and_webhook_id_dedupes(client: TestClient) -> None:
    ping = client.post(
        "/webhooks/pagerduty",
        **pd_request({"event": {"id": "e1", "event_type": "pagey.ping", "occurred_at": iso(T0), "data": {}}}),
    )
    annotated = client.post(
        "/webhooks/pagerduty", **pd_request({**pd_incident_event("incident.annotated", "P1", T0)}, webhook_id="w-1")
    )
    again = client.post(
        "/webhooks/pagerduty", **pd_request({**pd_incident_event("incident.annotated", "P1", T0)}, webhook_id="w-1")
    )

    assert (ping.status_code, ping.json()["ignored"]) == (202, "ping")
    assert "not used" in annotated.json()["ignored"]
    assert again.status_code == 200


def test_pagerduty_service_names_map_to_our_slugs(database_url: str, tmp_path: Any) -> None:
    from service.app.api.app import create_app
    from service.core.db import get_engine
    from tests.fakes import RecordingWaker
    from tests.helpers import make_settings

    settings = make_settings(database_url, tmp_path, service_aliases={"PF9KMXH": "payments-worker"})
    with TestClient(create_app(settings, waker=RecordingWaker())) as client:
        payload = pd_incident_event("incident.triggered", "P9", T0, created=T0)
        assert client.post("/webhooks/pagerduty", **pd_request(payload)).status_code == 202
    drain(settings)

    with Session(get_engine(database_url)) as session:
        assert session.exec(select(Incident.service)).one() == "payments-worker"


def test_pagerduty_missing_field_is_422(client: TestClient) -> None:
    payload = pd_incident_event("incident.triggered", "P1", T0)
    del payload["event"]["data"]["service"]

    response = client.post("/webhooks/pagerduty", **pd_request(payload))

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "event.data.service"


def og_alert(action: str, alert_id: str, created_ms: int, updated_ns: int | None = None) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "alertId": alert_id,
        "message": "ledger: replication lag above 5 minutes",
        "tags": ["service:ledger", "db"],
        "tinyId": "42",
        "entity": "ledger-db",
        "alias": "ledger-lag",
        "createdAt": created_ms,
        "username": "System",
        "userId": "",
        "priority": "P2",
        "source": "datadog",
        "details": {},
    }
    if updated_ns is not None:
        alert["updatedAt"] = updated_ns
    return {
        "action": action,
        "alert": alert,
        "source": {"name": "", "type": "system"},
        "integrationName": "Frictionlog",
        "integrationId": "8418d193-2dab-4490-b331-8c02cdd196b7",
        "integrationType": "Webhook",
    }


def test_opsgenie_create_and_close_with_the_header_secret(
    client: TestClient, settings: Settings, session: Session
) -> None:
    created_ms = int(T0.timestamp() * 1000)
    closed_ns = int((T0 + timedelta(minutes=30)).timestamp() * 1e9)
    headers = {"X-Frictionlog-Token": OPSGENIE_TOKEN}

    created = client.post("/webhooks/opsgenie", json=og_alert("Create", "a-1", created_ms), headers=headers)
    closed = client.post("/webhooks/opsgenie", json=og_alert("Close", "a-1", created_ms, closed_ns), headers=headers)
    noted = client.post("/webhooks/opsgenie", json=og_alert("AddNote", "a-1", created_ms), headers=headers)
    drain(settings)

    assert (created.status_code, closed.status_code) == (202, 202)
    assert "not used" in noted.json()["ignored"]
    incident = session.exec(select(Incident)).one()
    assert (incident.service, incident.status, incident.severity) == ("ledger", "resolved", "P2")
    assert incident.resolved_at is not None
    assert incident.resolved_at - incident.started_at == timedelta(minutes=30)


def test_opsgenie_takes_a_bearer_token_instead(client: TestClient, ingest_headers: dict[str, str]) -> None:
    payload = og_alert("Create", "a-2", int(T0.timestamp() * 1000))

    assert client.post("/webhooks/opsgenie", json=payload, headers=ingest_headers).status_code == 202
    assert client.post("/webhooks/opsgenie", json=payload, headers={"X-Frictionlog-Token": "wrong"}).status_code == 401
    assert (
        client.post("/webhooks/opsgenie", json=payload, headers={"Authorization": "Bearer fl_nope"}).status_code == 401
    )


@pytest.mark.parametrize("source", ["github", "gitlab", "pagerduty", "opsgenie"])
def test_oversized_bodies_are_413_before_anything_else(client: TestClient, settings: Settings, source: str) -> None:
    response = client.post(
        f"/webhooks/{source}",
        content=b"x" * (settings.max_body_bytes + 1),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413


def test_an_unknown_source_is_404(client: TestClient) -> None:
    response = client.post("/webhooks/bitbucket", json={})

    assert response.status_code == 404
    assert "github" in response.json()["error"]["message"]


def test_argocd_notification_template_posts_the_generic_form(
    client: TestClient, ingest_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    """The body docs/integrations/argocd.md's template renders for an on-deployed trigger."""
    rendered = {
        "type": "deployment",
        "delivery_id": "ledger-production-5d3f2a1-2026-10-05T12:00:00Z",
        "id": "ledger-production-5d3f2a1c9e8b7a6f5d4c3b2a1f0e9d8c7b6a5f4e",
        "service": "ledger",
        "environment": "production",
        "status": "success",
        "started_at": "2026-10-05T11:58:00Z",
        "finished_at": "2026-10-05T12:00:00Z",
        "commit_sha": "5d3f2a1c9e8b7a6f5d4c3b2a1f0e9d8c7b6a5f4e",
        "repository": "https://github.com/acme/ledger.git",
        "url": "https://argocd.example.com/applications/ledger",
    }

    response = client.post("/webhooks/generic", json=rendered, headers=ingest_headers)
    drain(settings)

    assert response.status_code == 202
    deployment = session.exec(select(Deployment)).one()
    assert (deployment.service, deployment.status, deployment.sha) == ("ledger", "success", rendered["commit_sha"])
    assert deployment.repository == "acme/ledger"  # the git URL meets GitHub's owner/repo form
