"""Tracker and CDEvents deliveries for tests, written from each vendor's documented schema and signed
as each signs them: Jira (``X-Hub-Signature: sha256=<hex>``), Linear (``Linear-Signature: <hex>`` and
``webhookTimestamp`` in the body), CDEvents (CloudEvents structured JSON; ``X-Signature-256``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime
from typing import Any

from tests.factories import iso

JIRA_SECRET = "jira-test-secret"
LINEAR_SECRET = "lin_wh_test_secret"
CDEVENTS_SECRET = "cdevents-test-secret"
SECRETS = {
    "jira_webhook_secret": JIRA_SECRET,
    "linear_webhook_secret": LINEAR_SECRET,
    "cdevents_webhook_secret": CDEVENTS_SECRET,
}
WORK_SETTINGS = {**SECRETS, "jira_replay_window_seconds": 10 * 365 * 86400.0}
"""The secrets, and a Jira replay window wide enough for stories dated weeks back (a delivery's ``timestamp`` is
its event's time); the window itself is tested with the default."""
JIRA_CATEGORIES = {"To Do": "new", "In Progress": "indeterminate", "In Review": "indeterminate", "Done": "done"}


def _hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def jira_request(payload: Any, *, secret: str = JIRA_SECRET, delivery: str | None = None) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Atlassian Webhook HTTP Client",
        "X-Atlassian-Webhook-Identifier": delivery or str(uuid.uuid4().int)[:12],
        "X-Atlassian-Webhook-Retry": "0",
        "X-Hub-Signature": "sha256=" + _hex(secret, body),
    }
    return {"content": body, "headers": headers}


def jira_issue_event(
    event: str,
    key: str,
    status: str,
    at: datetime,
    *,
    issue_type: str = "Story",
    created: datetime | None = None,
    previous: str | None = None,
    labels: tuple[str, ...] = (),
    components: tuple[str, ...] = (),
    parent: str | None = None,
) -> dict[str, Any]:
    """A ``jira:issue_*`` body; ``previous`` adds the changelog item of a status move."""
    project = key.split("-")[0]
    fields: dict[str, Any] = {
        "summary": f"{key}: checkout supports wallets",
        "issuetype": {"id": "10001", "name": issue_type, "subtask": False},
        "project": {"id": "10000", "key": project, "name": project.title()},
        "status": {
            "id": "3",
            "name": status,
            "statusCategory": {"id": 4, "key": JIRA_CATEGORIES.get(status, "new"), "name": status},
        },
        "labels": list(labels),
        "components": [{"id": str(i), "name": name} for i, name in enumerate(components)],
        "created": (created or at).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "updated": at.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "priority": {"id": "3", "name": "Medium"},
        "customfield_10020": None,
    }
    if parent:
        fields["parent"] = {"id": "9", "key": parent, "fields": {"summary": "Epic"}}
    body: dict[str, Any] = {
        "timestamp": int(at.timestamp() * 1000),
        "webhookEvent": event,
        "issue_event_type_name": "issue_generic" if event == "jira:issue_updated" else "issue_created",
        "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof"},
        "issue": {
            "id": "10042",
            "self": f"https://acme.atlassian.net/rest/api/2/issue/{key}",
            "key": key,
            "fields": fields,
        },
    }
    if previous is not None:
        body["changelog"] = {
            "id": "10101",
            "items": [
                {
                    "field": "status",
                    "fieldtype": "jira",
                    "fieldId": "status",
                    "from": "1",
                    "fromString": previous,
                    "to": "3",
                    "toString": status,
                }
            ],
        }
    return body


def linear_request(
    payload: dict[str, Any], *, sent: datetime, secret: str = LINEAR_SECRET, delivery: str | None = None
) -> dict[str, Any]:
    """Linear puts the send time in the body (``webhookTimestamp``, ms) and signs the raw body."""
    body = json.dumps({**payload, "webhookTimestamp": int(sent.timestamp() * 1000)}).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Linear-Webhook",
        "Linear-Delivery": delivery or str(uuid.uuid4()),
        "Linear-Event": str(payload.get("type", "")),
        "Linear-Signature": _hex(secret, body),
    }
    return {"content": body, "headers": headers}


def linear_issue(
    action: str,
    identifier: str,
    state: tuple[str, str],
    at: datetime,
    *,
    created: datetime | None = None,
    labels: tuple[str, ...] = (),
    project_id: str | None = None,
    team: str = "ENG",
) -> dict[str, Any]:
    """``state`` is (name, type): ("In Progress", "started")."""
    return {
        "action": action,
        "type": "Issue",
        "createdAt": iso(at),
        "organizationId": "8f2a1c3e-0000-4000-8000-000000000001",
        "webhookId": "0b6d0c7e-0000-4000-8000-000000000002",
        "url": f"https://linear.app/acme/issue/{identifier.lower()}",
        "data": {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, identifier)),
            "identifier": identifier,
            "number": int(identifier.split("-")[1]),
            "title": f"{identifier} faster model loading",
            "priority": 2,
            "state": {"id": "s1", "name": state[0], "type": state[1], "color": "#f2c94c"},
            "team": {"id": "t1", "key": team, "name": "Engineering"},
            "labels": [{"id": f"l{i}", "name": name, "color": "#000"} for i, name in enumerate(labels)],
            "projectId": project_id,
            "createdAt": iso(created or at),
            "updatedAt": iso(at),
        },
        "updatedFrom": {"updatedAt": iso(created or at)},
    }


def linear_project(action: str, project_id: str, state: str, at: datetime) -> dict[str, Any]:
    return {
        "action": action,
        "type": "Project",
        "createdAt": iso(at),
        "organizationId": "8f2a1c3e-0000-4000-8000-000000000001",
        "data": {
            "id": project_id,
            "name": "Wallets",
            "state": state,
            "createdAt": iso(at),
            "updatedAt": iso(at),
            "url": f"https://linear.app/acme/project/{project_id}",
        },
    }


def cloudevent(cdevent: dict[str, Any]) -> dict[str, Any]:
    """A CDEvent in a CloudEvent, structured JSON mode (the CDEvents CloudEvents binding)."""
    context = cdevent["context"]
    return {
        "specversion": "1.0",
        "id": context["id"],
        "source": context["source"],
        "type": context["type"],
        "time": context["timestamp"],
        "datacontenttype": "application/json",
        "data": cdevent,
    }


def cdevent(kind: str, subject_id: str, at: datetime, content: dict[str, Any], **custom: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "context": {
            "specversion": "0.5.0",
            "id": str(uuid.uuid4()),
            "source": "/ci/acme",
            "type": f"dev.cdevents.{kind}",
            "timestamp": iso(at),
        },
        "subject": {"id": subject_id, "source": "/ci/acme", "content": content},
    }
    if custom:
        event["customData"] = custom
    return event


def cdevents_request(payload: Any, *, secret: str | None = CDEVENTS_SECRET, token: str | None = None) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/cloudevents+json; charset=utf-8"}
    if secret is not None:
        headers["X-Signature-256"] = "sha256=" + _hex(secret, body)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return {"content": body, "headers": headers}
