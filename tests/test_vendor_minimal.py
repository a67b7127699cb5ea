"""Real deliveries that leave optional fields out or send them as null are accepted (202) and processed, never
refused (422) or failed: for each vendor parser, a delivery trimmed to what the vendor's documented schema
requires, with the fields it documents as nullable sent as null (issue 25 #11: "a vendor field that is absent
in some real deliveries is derived or optional, never required")."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.app.api.app import create_app
from service.core.db import get_engine
from service.core.models import Deployment, InboxEvent, Incident, PullRequest
from service.core.models.work import WorkItem
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.vocab import InboxStatus
from tests.factories import T0, iso, sha
from tests.fakes import RecordingWaker
from tests.helpers import make_settings
from tests.vendors import (
    GL_PROJECT,
    OPSGENIE_TOKEN,
    REPO,
    gh_deployment_status,
    gh_pull_request_merged,
    github_request,
    gl_request,
    pd_incident_event,
    pd_request,
)
from tests.work_vendors import (
    WORK_SETTINGS,
    cdevent,
    cdevents_request,
    jira_issue_event,
    jira_request,
    linear_issue,
    linear_request,
)
from workers.process import drain


@pytest.fixture
def vendor_settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, **WORK_SETTINGS, workflow_environments={"Deploy": "production"})


@pytest.fixture
def vendor_client(vendor_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(vendor_settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        yield client


def trimmed(payload: dict[str, Any], *, drop: tuple[str, ...] = (), null: tuple[str, ...] = ()) -> dict[str, Any]:
    """``payload`` without the dotted paths in ``drop`` and with those in ``null`` set to None."""
    result = copy.deepcopy(payload)
    for path, absent in [*((p, True) for p in drop), *((p, False) for p in null)]:
        *parents, last = path.split(".")
        node = result
        for part in parents:
            node = node[part]
        if absent:
            node.pop(last, None)
        else:
            node[last] = None
    return result


def processed(settings: Settings) -> list[tuple[str, str, str | None]]:
    drain(settings)
    with Session(get_engine(settings.database_url)) as session:
        return [(row.source, row.status, row.error) for row in session.exec(select(InboxEvent))]


def rows(settings: Settings, model: Any) -> list[Any]:
    with Session(get_engine(settings.database_url), expire_on_commit=False) as session:
        return list(session.exec(select(model)))


def _accepted(response: Any) -> None:
    assert response.status_code == 202, response.text


# GitHub ---------------------------------------------------------------------------------------------------


def workflow_run(name: str | None, status: str | None) -> dict[str, Any]:
    """A ``workflow_run`` delivery; GitHub's schema types ``name``, ``head_branch``, ``status`` and
    ``conclusion`` as string-or-null."""
    return {
        "action": "requested" if status != "completed" else "completed",
        "workflow_run": {
            "id": 30433642,
            "name": name,
            "head_branch": None,
            "head_sha": sha(7),
            "status": status,
            "conclusion": None,
            "run_started_at": None,
            "updated_at": iso(T0),
            "html_url": "https://github.com/acme/checkout-api/actions/runs/30433642",
        },
        "repository": REPO,
        "sender": {"login": "octocat", "id": 583231},
    }


def test_github_deliveries_with_their_nullable_fields_null(
    vendor_client: TestClient, vendor_settings: Settings
) -> None:
    status = gh_deployment_status(1, sha(1), "success", T0)
    minimal_status = trimmed(
        status,
        drop=("deployment.payload", "deployment.url", "deployment_status.environment"),
        null=("deployment_status.log_url", "deployment_status.target_url"),
    )
    merged = trimmed(
        gh_pull_request_merged(5, "feature", sha(9), T0), drop=("pull_request.created_at",), null=("pull_request.body",)
    )
    for event, body in [
        ("deployment_status", minimal_status),
        ("pull_request", merged),
        ("workflow_run", workflow_run(None, None)),
        ("workflow_run", workflow_run("Deploy", "completed")),  # head_branch null: not the default branch
    ]:
        _accepted(vendor_client.post("/webhooks/github", **github_request(event, body)))

    assert all(state in (InboxStatus.PROCESSED, InboxStatus.IGNORED) for _, state, _ in processed(vendor_settings))
    assert [d.status for d in rows(vendor_settings, Deployment)] == ["success"]
    assert [(p.number, p.opened_at) for p in rows(vendor_settings, PullRequest)] == [(5, None)]


# GitLab ---------------------------------------------------------------------------------------------------


def test_gitlab_hooks_without_their_optional_fields(vendor_client: TestClient, vendor_settings: Settings) -> None:
    deployment = {  # a deployment created through the API: no job, so no deployable; no commit url or sha
        "object_kind": "deployment",
        "status": "success",
        "status_changed_at": "2026-10-05 12:05:00 UTC",
        "deployment_id": 21,
        "deployable_id": None,
        "deployable_url": None,
        "environment": "production",
        "project": GL_PROJECT,
        "short_sha": None,
        "commit_url": None,
    }
    merge_request = {
        "object_kind": "merge_request",
        "project": GL_PROJECT,
        "object_attributes": {
            "iid": 3,
            "title": "Ledger rounding",
            "description": None,
            "state": "merged",
            "action": "merge",
            "source_branch": "rounding",
            "merge_commit_sha": None,
            "squash_commit_sha": sha(4),
            "updated_at": "2026-10-05 11:00:00 UTC",
        },
    }
    pipeline = {
        "object_kind": "pipeline",
        "project": GL_PROJECT,
        "object_attributes": {"id": 31, "name": None, "ref": "main", "sha": sha(4), "status": "running"},
    }
    for event, body in [
        ("Deployment Hook", deployment),
        ("Merge Request Hook", merge_request),
        ("Pipeline Hook", pipeline),
    ]:
        _accepted(vendor_client.post("/webhooks/gitlab", **gl_request(event, body)))

    assert all(state in (InboxStatus.PROCESSED, InboxStatus.IGNORED) for _, state, _ in processed(vendor_settings))
    assert [(d.external_id, d.sha) for d in rows(vendor_settings, Deployment)] == [("21", None)]
    assert [(p.number, p.merge_commit_sha) for p in rows(vendor_settings, PullRequest)] == [(3, sha(4))]


# PagerDuty and Opsgenie ---------------------------------------------------------------------------------------


def test_pagerduty_and_opsgenie_without_their_optional_fields(
    vendor_client: TestClient, vendor_settings: Settings
) -> None:
    incident = trimmed(
        pd_incident_event("incident.triggered", "Q1MIN", T0, created=T0),
        drop=("event.data.html_url", "event.data.urgency", "event.data.teams", "event.data.title"),
        null=("event.data.priority", "event.data.service.summary"),
    )
    _accepted(vendor_client.post("/webhooks/pagerduty", **pd_request(incident)))
    alert = {  # Opsgenie: an alert with no tags, details, entity, teams or priority
        "action": "Create",
        "alert": {"alertId": "og-min-1", "message": "disk full", "createdAt": int(T0.timestamp() * 1000)},
        "source": {"name": "", "type": "system"},
    }
    headers = {"X-Frictionlog-Token": OPSGENIE_TOKEN}
    _accepted(vendor_client.post("/webhooks/opsgenie", json=alert, headers=headers))

    assert all(state == InboxStatus.PROCESSED for _, state, _ in processed(vendor_settings))
    assert sorted(i.external_id for i in rows(vendor_settings, Incident)) == ["Q1MIN", "og-min-1"]


# Jira, Linear, CDEvents -------------------------------------------------------------------------------------


def test_trackers_and_cdevents_without_their_optional_fields(
    vendor_client: TestClient, vendor_settings: Settings
) -> None:
    jira = trimmed(
        jira_issue_event("jira:issue_created", "PAY-7", "To Do", T0),
        drop=(
            "issue.fields.issuetype",
            "issue.fields.labels",
            "issue.fields.components",
            "issue.fields.created",
            "issue.self",
        ),
        null=("issue.fields.summary", "issue.fields.status", "issue.fields.updated"),
    )
    _accepted(vendor_client.post("/webhooks/jira", **jira_request(jira)))
    linear = trimmed(
        linear_issue("create", "ENG-12", ("Todo", "unstarted"), T0),
        drop=("data.labels", "data.title", "url"),
        null=("data.state", "data.team", "data.projectId"),
    )
    _accepted(vendor_client.post("/webhooks/linear", **linear_request(linear, sent=utcnow())))
    deployed = trimmed(
        cdevent("service.deployed.0.2.0", "checkout-api", T0, {"environment": {"id": "production"}}),
        drop=("subject.source",),
    )
    _accepted(vendor_client.post("/webhooks/cdevents", **cdevents_request(deployed)))

    states = processed(vendor_settings)
    assert all(state in (InboxStatus.PROCESSED, InboxStatus.IGNORED) for _, state, _ in states), states
    assert sorted(item.key for item in rows(vendor_settings, WorkItem)) == ["ENG-12", "PAY-7"]
    assert [d.environment for d in rows(vendor_settings, Deployment)] == ["production"]
