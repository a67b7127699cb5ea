"""Tracker and CDEvents webhooks at the edge and through the worker: signatures (401), stale Linear
timestamps (401), unknown event types (202, recorded as ignored), schema errors (422 naming the field),
resends (200, stored once), and the rows each delivery derives."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.app.api.app import create_app
from service.core.db import get_engine
from service.core.models import Deployment, InboxEvent, Incident
from service.core.models.work import WorkItem, WorkItemReference
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.figures.work.compute import time_to_ship
from service.figures.work.service import load_work
from tests.factories import T0, iso, issue_token, make_deployment, make_incident
from tests.fakes import RecordingWaker
from tests.helpers import make_settings
from tests.vendors import GL_PROJECT, OPSGENIE_TOKEN, REPO, github_request, gl_request, pd_incident_event, pd_request
from tests.work_vendors import (
    JIRA_SECRET,
    LINEAR_SECRET,
    SECRETS,
    WORK_SETTINGS,
    cdevent,
    cdevents_request,
    cloudevent,
    jira_issue_event,
    jira_request,
    linear_issue,
    linear_project,
    linear_request,
)
from workers.process import drain

DAY = timedelta(days=1)


@pytest.fixture
def work_settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, **WORK_SETTINGS)


@pytest.fixture
def work_client(work_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(work_settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        yield client


def _items(settings: Settings) -> dict[str, WorkItem]:
    with Session(get_engine(settings.database_url)) as session:
        return {item.key: item for item in session.exec(select(WorkItem))}


# Jira ------------------------------------------------------------------------------------------------


def test_jira_signatures_unknown_events_schema_errors_resends(work_client: TestClient, work_settings: Settings) -> None:
    body = jira_issue_event("jira:issue_created", "PROJ-1", "To Do", T0, issue_type="Bug")
    wrong = work_client.post("/webhooks/jira", **jira_request(body, secret="not-the-secret"))
    unsigned = jira_request(body)
    del unsigned["headers"]["X-Hub-Signature"]
    missing = work_client.post("/webhooks/jira", **unsigned)
    good = jira_request(body, delivery="7001")
    first = work_client.post("/webhooks/jira", **good)
    again = work_client.post("/webhooks/jira", **good)
    comment = {"timestamp": int(T0.timestamp() * 1000), "webhookEvent": "comment_created", "comment": {"id": "1"}}
    ignored = work_client.post("/webhooks/jira", **jira_request(comment))
    no_key = jira_issue_event("jira:issue_updated", "PROJ-1", "To Do", T0)
    del no_key["issue"]["key"]
    invalid = work_client.post("/webhooks/jira", **jira_request(no_key))
    drain(work_settings)

    assert (wrong.status_code, missing.status_code) == (401, 401)
    assert missing.json()["error"]["field"] == "x-hub-signature"
    assert (first.status_code, again.status_code, again.json()["duplicate"]) == (202, 200, True)
    assert ignored.status_code == 202
    assert "not used" in ignored.json()["ignored"]
    assert invalid.status_code == 422
    assert invalid.json()["error"]["field"] == "issue.key"
    with Session(get_engine(work_settings.database_url)) as session:
        statuses = sorted(session.exec(select(InboxEvent.event_type, InboxEvent.status)).all())
    assert statuses == [("comment_created", "ignored"), ("jira:issue_created", "processed")]
    item = _items(work_settings)["PROJ-1"]
    assert (item.source, item.kind, item.status, item.raw_status) == ("jira", "bug", "open", "To Do")
    assert item.url == "https://acme.atlassian.net/browse/PROJ-1"


def test_a_jira_delivery_outside_the_replay_window_is_refused(database_url: str, tmp_path: Path) -> None:
    """A captured delivery re-sent later under a new identifier: its signed ``timestamp`` gives it away."""
    settings = make_settings(database_url, tmp_path, **SECRETS)  # the default window: an hour
    now = utcnow()
    fresh = jira_issue_event("jira:issue_created", "PROJ-5", "To Do", now - timedelta(minutes=50))
    stale = jira_issue_event("jira:issue_created", "PROJ-6", "To Do", now - timedelta(minutes=70))
    ahead = jira_issue_event("jira:issue_created", "PROJ-7", "To Do", now + timedelta(minutes=5))
    bare = jira_issue_event("jira:issue_created", "PROJ-8", "To Do", now)
    del bare["timestamp"]
    nan = json.dumps({**bare, "timestamp": float("nan")}).encode()
    nan_headers = {**jira_request(bare)["headers"]}
    nan_headers["X-Hub-Signature"] = "sha256=" + hmac.new(JIRA_SECRET.encode(), nan, hashlib.sha256).hexdigest()
    with TestClient(create_app(settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        answers = [client.post("/webhooks/jira", **jira_request(b)) for b in (fresh, stale, ahead, bare)]
        answers.append(client.post("/webhooks/jira", content=nan, headers=nan_headers))

    assert [a.status_code for a in answers] == [202, 401, 401, 401, 401], [a.text for a in answers]
    assert {a.json()["error"]["field"] for a in answers[1:]} == {"timestamp"}
    assert "outside the replay window" in answers[1].json()["error"]["message"]
    with Session(get_engine(settings.database_url)) as session:
        assert len(session.exec(select(InboxEvent)).all()) == 1


def test_jira_mapping_decides_kind_service_and_deletion(work_client: TestClient, work_settings: Settings) -> None:
    created = jira_issue_event(
        "jira:issue_created", "SUP-3", "Waiting for support", T0, issue_type="Task", labels=("service:ml-api",)
    )
    deleted = jira_issue_event("jira:issue_deleted", "SUP-3", "Waiting for support", T0 + DAY, issue_type="Task")
    for body in (created, deleted):
        assert work_client.post("/webhooks/jira", **jira_request(body)).status_code == 202
    drain(work_settings)

    item = _items(work_settings)["SUP-3"]
    # The issue type decides before the project does (mapping order): a Task, though SUP is a support project.
    assert (item.kind, item.service, item.status) == ("task", "ml-api", "open")
    assert item.deleted_at is not None


# Linear ----------------------------------------------------------------------------------------------


def test_linear_signature_and_a_stale_timestamp_are_refused(work_client: TestClient, work_settings: Settings) -> None:
    body = linear_issue("create", "ENG-42", ("In Progress", "started"), T0, labels=("Feature",))
    now = utcnow()
    stale = work_client.post("/webhooks/linear", **linear_request(body, sent=now - timedelta(seconds=90)))
    ahead = work_client.post("/webhooks/linear", **linear_request(body, sent=now + timedelta(seconds=90)))
    forged = work_client.post("/webhooks/linear", **linear_request(body, sent=now, secret="guess"))
    fresh = work_client.post("/webhooks/linear", **linear_request(body, sent=now))
    comment = {"action": "create", "type": "Comment", "createdAt": "2026-10-05T12:00:00Z", "data": {"id": "c1"}}
    ignored = work_client.post("/webhooks/linear", **linear_request(comment, sent=now))
    broken = json.loads(json.dumps(body))
    del broken["data"]["id"]
    invalid = work_client.post("/webhooks/linear", **linear_request(broken, sent=now))
    drain(work_settings)

    assert [r.status_code for r in (stale, ahead, forged)] == [401, 401, 401]
    assert stale.json()["error"]["field"] == "webhookTimestamp"
    assert forged.json()["error"]["field"] == "linear-signature"
    assert fresh.status_code == 202
    assert (ignored.status_code, "not used" in ignored.json()["ignored"]) == (202, True)
    assert (invalid.status_code, invalid.json()["error"]["field"]) == (422, "data.id")
    item = _items(work_settings)["ENG-42"]
    assert (item.source, item.kind, item.status, item.team) == ("linear", "feature", "in_progress", "ENG")


def test_a_linear_issue_without_its_identifier_is_kept_under_team_and_number(
    work_client: TestClient, work_settings: Settings
) -> None:
    """Older captures carry ``number`` and ``team.key`` only: the key is derived, the delivery never refused."""
    older = linear_issue("create", "ENG-77", ("Todo", "unstarted"), T0)
    del older["data"]["identifier"]
    bare = linear_issue("create", "OPS-5", ("Todo", "unstarted"), T0, team="OPS")
    for field in ("identifier", "number", "team"):
        del bare["data"][field]
    bare["data"]["parent"] = {"id": "7e0c4a1b-0000-4000-8000-0000000000ff"}
    answers = [work_client.post("/webhooks/linear", **linear_request(body, sent=utcnow())) for body in (older, bare)]
    drain(work_settings)

    assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
    items = _items(work_settings)
    assert items["ENG-77"].team == "ENG"
    derived = items[f"linear-issue:{bare['data']['id']}"]
    assert derived.parent == "linear-issue:7e0c4a1b-0000-4000-8000-0000000000ff"


def test_a_linear_timestamp_that_is_not_a_finite_number_is_refused(work_client: TestClient) -> None:
    """A signed delivery whose ``webhookTimestamp`` is NaN or infinite is no proof of when it was sent."""
    body = linear_issue("create", "ENG-43", ("Todo", "unstarted"), T0)
    for stamp in (float("nan"), float("inf"), float("-inf")):
        raw = json.dumps({**body, "webhookTimestamp": stamp}).encode()  # NaN, Infinity: what json.dumps writes
        signature = hmac.new(LINEAR_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "Linear-Event": "Issue", "Linear-Signature": signature}
        answer = work_client.post("/webhooks/linear", content=raw, headers=headers)
        assert answer.status_code == 401, (stamp, answer.text)
        assert answer.json()["error"]["field"] == "webhookTimestamp"


def test_a_linear_project_ships_with_its_first_issue(work_client: TestClient, work_settings: Settings) -> None:
    """Child shipment: the project is a feature; an issue in it ships in a generic deployment."""
    ingest = {"Authorization": f"Bearer {issue_token(work_settings, 'ci', ['ingest'])}"}
    project = "5c1f0ab2-0000-4000-8000-00000000000a"
    deliveries = [
        linear_project("create", project, "planned", T0),
        linear_project("update", project, "started", T0 + DAY),  # started: day 1
        linear_issue("create", "ENG-50", ("In Progress", "started"), T0 + 2 * DAY, project_id=project),
        linear_project("update", project, "completed", T0 + 9 * DAY),
    ]
    for body in deliveries:
        response = work_client.post("/webhooks/linear", **linear_request(body, sent=utcnow()))
        assert response.status_code == 202, response.text
    shipped = make_deployment("ml-7", service="ml-api", finished_at=T0 + 4 * DAY, work_items=["ENG-50"])
    assert work_client.post("/webhooks/generic", json=shipped, headers=ingest).status_code == 202
    drain(work_settings)

    with Session(get_engine(work_settings.database_url)) as session:
        frames = load_work(session, environments=frozenset({"production"}))
    samples = time_to_ship(frames.items, frames.history, frames.shipments, frames.references).set_index("key")
    assert samples.loc[f"linear-project:{project}", "days"] == 3.0  # day 1 → day 4
    assert samples.loc["ENG-50", "days"] == 2.0  # day 2 → day 4
    assert samples.loc["ENG-50", "service"] == "ml-api"  # unmapped item: the shipping deployment's service


# GitHub issues ---------------------------------------------------------------------------------------


def _gh_issue(action: str, labels: list[str], *, state: str = "open", reason: str | None = None) -> dict[str, Any]:
    return {
        "action": action,
        "issue": {
            "number": 31,
            "node_id": "I_kwDOA",
            "title": "Support Apple Pay",
            "state": state,
            "state_reason": reason,
            "labels": [{"id": i, "name": name, "color": "a2eeef"} for i, name in enumerate(labels)],
            "created_at": "2026-10-05T12:00:00Z",
            "updated_at": "2026-10-06T12:00:00Z" if action != "opened" else "2026-10-05T12:00:00Z",
            "closed_at": "2026-10-09T12:00:00Z" if state == "closed" else None,
            "html_url": "https://github.com/acme/checkout-api/issues/31",
        },
        "repository": REPO,
        "sender": {"login": "octocat", "id": 1},
    }


def test_github_issues_are_work_items_with_label_statuses(work_client: TestClient, work_settings: Settings) -> None:
    for payload in (
        _gh_issue("opened", ["enhancement"]),
        _gh_issue("labeled", ["enhancement", "in progress"]),
        _gh_issue("closed", ["enhancement", "in progress"], state="closed", reason="completed"),
    ):
        response = work_client.post("/webhooks/github", **github_request("issues", payload))
        assert (response.status_code, response.json()["ignored"]) == (202, None)
    pinned = work_client.post("/webhooks/github", **github_request("issues", _gh_issue("pinned", ["enhancement"])))
    drain(work_settings)

    assert "pinned" in pinned.json()["ignored"]
    item = _items(work_settings)["acme/checkout-api#31"]
    assert (item.kind, item.status, item.service) == ("feature", "done", "checkout-api")
    with Session(get_engine(work_settings.database_url)) as session:
        frames = load_work(session, environments=frozenset({"production"}))
    samples = time_to_ship(frames.items, frames.history, frames.shipments, frames.references)
    # Nothing names the issue: its time to ship ends at closed (done), flagged as the fallback.
    assert (list(samples["days"]), list(samples["basis"])) == ([3.0], ["done_fallback"])


# CDEvents --------------------------------------------------------------------------------------------


def test_cdevents_tickets_deployments_and_incidents(work_client: TestClient, work_settings: Settings) -> None:
    token = issue_token(work_settings, "ci", ["ingest"])
    ticket = {"summary": "Terraform drift on ml-api", "ticketType": "question", "labels": ["infra-support"]}
    ticket["uri"] = "https://tickets.example.com/T-9"
    created = cloudevent(cdevent("ticket.created.0.2.0", "T-9", T0, ticket, service="ml-api"))
    closed_content = {**ticket, "resolution": "completed"}
    closed = cloudevent(cdevent("ticket.closed.0.2.0", "T-9", T0 + 2 * DAY, closed_content))
    deployed = cloudevent(
        cdevent(
            "service.deployed.0.2.0",
            "service/ml-api",
            T0 + DAY,
            {"environment": {"id": "production"}, "artifactId": "pkg:oci/ml-api@sha256%3A0a1b"},
            work_items=["T-9"],
        )
    )
    detected = cloudevent(
        cdevent(
            "incident.detected.0.2.0",
            "INC-77",
            T0 + DAY,
            {"description": "elevated error rate", "service": {"id": "service/ml-api"}},
            category="infrastructure",
        )
    )
    answers = [
        work_client.post("/webhooks/cdevents", **cdevents_request(created, secret=None, token=token)),
        work_client.post("/webhooks/cdevents", **cdevents_request(closed)),
        work_client.post("/webhooks/cdevents", **cdevents_request(deployed)),
        work_client.post("/webhooks/cdevents", **cdevents_request(detected)),
    ]
    unsigned = work_client.post("/webhooks/cdevents", **cdevents_request(created, secret=None))
    forged = work_client.post("/webhooks/cdevents", **cdevents_request(created, secret="nope"))
    build = cloudevent(cdevent("build.started.0.2.0", "b-1", T0, {}))
    ignored = work_client.post("/webhooks/cdevents", **cdevents_request(build))
    no_subject = cloudevent(cdevent("ticket.created.0.2.0", "T-10", T0, {}))
    del no_subject["data"]["subject"]
    invalid = work_client.post("/webhooks/cdevents", **cdevents_request(no_subject))
    drain(work_settings)

    assert [a.status_code for a in answers] == [202, 202, 202, 202], [a.text for a in answers]
    assert (unsigned.status_code, forged.status_code) == (401, 401)
    assert (ignored.status_code, "not used" in ignored.json()["ignored"]) == (202, True)
    assert (invalid.status_code, invalid.json()["error"]["field"]) == (422, "data.subject")
    item = _items(work_settings)["T-9"]
    assert (item.source, item.kind, item.status, item.service) == ("cdevents", "support", "done", "ml-api")
    with Session(get_engine(work_settings.database_url)) as session:
        deployment = session.exec(select(Deployment)).one()
        incident = session.exec(select(Incident)).one()
        reference = session.exec(select(WorkItemReference)).one()
    assert (deployment.service, deployment.environment, deployment.finished_at) == ("ml-api", "production", T0 + DAY)
    assert (reference.key, reference.kind, reference.repository) == ("T-9", "deployment", "cdevents")
    assert (incident.service, incident.category, incident.category_source) == ("ml-api", "infrastructure", "explicit")


# Generic form and incident categories ----------------------------------------------------------------


def test_generic_work_items_and_incident_categories(work_client: TestClient, work_settings: Settings) -> None:
    headers = {"Authorization": f"Bearer {issue_token(work_settings, 'ci', ['ingest'])}"}
    item = {"type": "work_item", "id": "OPS-1", "kind": "support", "status": "open", "changed_at": iso(T0)}
    bad = {**item, "status": "blocked"}
    events = [
        item,
        make_incident("I-1", title="Node pool out of capacity: pods pending"),
        make_incident("I-2", title="Checkout error rate after deploy", category="infrastructure"),
        make_incident("I-3", title="Something odd"),
    ]
    accepted = work_client.post("/webhooks/generic", json=events, headers=headers)
    refused = work_client.post("/webhooks/generic", json=bad, headers=headers)
    drain(work_settings)

    assert accepted.status_code == 202
    assert (refused.status_code, refused.json()["error"]["field"]) == (422, "status")
    assert _items(work_settings)["OPS-1"].kind == "support"
    with Session(get_engine(work_settings.database_url)) as session:
        found = {i.external_id: i for i in session.exec(select(Incident))}
    assert (found["I-1"].category, found["I-1"].category_source) == ("infrastructure", "rule")
    assert set(found["I-1"].category_evidence) >= {"capacity", "pods"}
    assert (found["I-2"].category, found["I-2"].category_source) == ("infrastructure", "explicit")
    assert (found["I-3"].category, found["I-3"].category_source) == ("unknown", None)


def test_pagerduty_service_mapping_beats_the_title_rules(database_url: str, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "incidents:\n  services:\n    PF9KMXH: infrastructure\n  rules:\n    application: [error rate]\n"
    )
    settings = make_settings(database_url, tmp_path, work_mapping_path=mapping)
    with TestClient(create_app(settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        mapped = pd_incident_event("incident.triggered", "Q1", T0, created=T0)
        other = pd_incident_event("incident.triggered", "Q2", T0, created=T0)
        other["event"]["data"]["service"]["id"] = "POTHER"
        for payload in (mapped, other):
            assert client.post("/webhooks/pagerduty", **pd_request(payload)).status_code == 202
    drain(settings)

    with Session(get_engine(database_url)) as session:
        found = {i.external_id: i for i in session.exec(select(Incident))}
    # The title says "error rate" (an application rule) but the service is mapped to infrastructure.
    assert (found["Q1"].category, found["Q1"].category_source) == ("infrastructure", "service_map")
    assert (found["Q2"].category, found["Q2"].category_source, found["Q2"].category_evidence) == (
        "application",
        "rule",
        ["error rate"],
    )


def _project_item(status: str, at: str, *, field: str = "Status") -> dict[str, Any]:
    return {
        "action": "edited",
        "projects_v2_item": {
            "id": 9001,
            "node_id": "PVTI_lADOA",
            "project_node_id": "PVT_kwDOA",
            "content_node_id": "I_kwDOA",
            "content_type": "Issue",
            "creator": {"login": "octocat", "id": 1},
            "created_at": "2026-10-05T12:00:00Z",
            "updated_at": at,
            "archived_at": None,
        },
        "changes": {
            "field_value": {
                "field_node_id": "PVTSSF_lADOA",
                "field_type": "single_select",
                "field_name": field,
                "project_number": 3,
                "from": {"id": "f75ad846", "name": "Todo", "color": "GRAY", "description": ""},
                "to": {"id": "47fc9ee4", "name": status, "color": "YELLOW", "description": ""},
            }
        },
        "organization": {"login": "acme", "id": 1},
        "sender": {"login": "octocat", "id": 1},
    }


def test_github_project_status_starts_an_issue_whatever_the_order(
    work_client: TestClient, work_settings: Settings
) -> None:
    ingest = {"Authorization": f"Bearer {issue_token(work_settings, 'ci', ['ingest'])}"}
    # The project move arrives before the issue event that ties the node id to the issue's key.
    moved = work_client.post(
        "/webhooks/github", **github_request("projects_v2_item", _project_item("In Progress", "2026-10-06T12:00:00Z"))
    )
    other_field = _project_item("High", "2026-10-06T12:00:00Z", field="Priority")
    priority = work_client.post("/webhooks/github", **github_request("projects_v2_item", other_field))
    opened = work_client.post("/webhooks/github", **github_request("issues", _gh_issue("opened", ["enhancement"])))
    shipped = make_deployment(
        "co-1", service="checkout-api", finished_at=T0 + 5 * DAY, work_items=["acme/checkout-api#31"]
    )
    assert work_client.post("/webhooks/generic", json=shipped, headers=ingest).status_code == 202
    drain(work_settings)

    assert (moved.json()["ignored"], opened.json()["ignored"]) == (None, None)
    assert "not the status" in priority.json()["ignored"]
    with Session(get_engine(work_settings.database_url)) as session:
        frames = load_work(session, environments=frozenset({"production"}))
    samples = time_to_ship(frames.items, frames.history, frames.shipments, frames.references)
    assert list(samples["days"]) == [4.0]  # started on the board on day 1, shipped on day 5


def test_gitlab_pushes_and_merge_requests_keep_the_keys_they_name(
    work_client: TestClient, work_settings: Settings
) -> None:
    commit = {
        "id": "9" * 40,
        "message": "Ledger rounding\n\nPart of PAY-12, see also ops-3 (lower case is not a key)",
        "title": "Ledger rounding",
        "timestamp": "2026-10-05T09:00:00+02:00",
        "url": f"https://gitlab.example.com/acme/ledger/-/commit/{'9' * 40}",
        "author": {"name": "Jordi Mallach", "email": "jordi@example.com"},
        "added": [],
        "modified": ["app.rb"],
        "removed": [],
    }
    push = {
        "object_kind": "push",
        "ref": "refs/heads/pay-12-rounding",
        "before": "0" * 40,
        "after": "9" * 40,
        "project": GL_PROJECT,
        "commits": [commit],
        "total_commits_count": 1,
    }
    merge = {
        "object_kind": "merge_request",
        "project": GL_PROJECT,
        "object_attributes": {
            "iid": 8,
            "title": "Rounding for PAY-12",
            "description": "Closes PAY-13",
            "state": "merged",
            "action": "merge",
            "source_branch": "pay-12-rounding",
            "target_branch": "main",
            "merge_commit_sha": "8" * 40,
            "updated_at": "2026-10-05 10:00:00 UTC",
        },
    }
    for event, payload in (("Push Hook", push), ("Merge Request Hook", merge)):
        assert work_client.post("/webhooks/gitlab", **gl_request(event, payload)).status_code == 202
    drain(work_settings)

    with Session(get_engine(work_settings.database_url)) as session:
        found = sorted((r.key, r.kind, r.repository, r.ref) for r in session.exec(select(WorkItemReference)))
    assert found == [
        ("PAY-12", "branch", "acme/ledger", "pay-12-rounding"),
        ("PAY-12", "commit", "acme/ledger", "9" * 40),
        ("PAY-12", "pull_request", "acme/ledger", "8"),
        ("PAY-13", "pull_request", "acme/ledger", "8"),
    ]


def test_opsgenie_teams_and_entities_map_to_categories(database_url: str, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "incidents:\n  teams:\n    7c2e-sre: infrastructure\n  services:\n    checkout-web: application\n"
    )
    settings = make_settings(database_url, tmp_path, work_mapping_path=mapping)

    def alert(alert_id: str, entity: str, teams: list[Any]) -> dict[str, Any]:
        body = {
            "alertId": alert_id,
            "message": "replication lag above 5 minutes",
            "tags": ["service:ledger"],
            "entity": entity,
            "createdAt": int(T0.timestamp() * 1000),
            "priority": "P2",
            "teams": teams,
            "details": {},
        }
        return {"action": "Create", "alert": body, "integrationName": "Frictionlog", "integrationType": "Webhook"}

    headers = {"X-Frictionlog-Token": OPSGENIE_TOKEN}
    with TestClient(create_app(settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        for payload in (
            alert("a1", "ledger-db", ["7c2e-sre"]),
            alert("a2", "checkout-web", [{"id": "x", "name": "Web"}]),
        ):
            assert client.post("/webhooks/opsgenie", json=payload, headers=headers).status_code == 202
    drain(settings)

    with Session(get_engine(database_url)) as session:
        found = {i.external_id: (i.category, i.category_source) for i in session.exec(select(Incident))}
    # The entity (Opsgenie's service) is checked before the team, as PagerDuty's service is.
    assert found == {"a1": ("infrastructure", "team_map"), "a2": ("application", "service_map")}
