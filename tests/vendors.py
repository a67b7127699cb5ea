"""Vendor payloads for tests, written from each vendor's documented schema, and signed as they sign them.

Only the fields a real delivery carries that matter here, plus enough of the rest to look like the real
thing (unknown fields must be ignored, not choke the parser).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from tests.factories import iso

GITHUB_SECRET = "gh-test-secret"
GITLAB_TOKEN = "gl-test-token"
PAGERDUTY_SECRET = "pd-test-secret"
OPSGENIE_TOKEN = "og-test-token"

REPO = {
    "id": 1296269,
    "name": "checkout-api",
    "full_name": "acme/checkout-api",
    "private": True,
    "owner": {"login": "acme", "id": 1, "type": "Organization"},
    "html_url": "https://github.com/acme/checkout-api",
    "default_branch": "main",
}


def slack_request(
    body: str, *, secret: str, content_type: str = "application/x-www-form-urlencoded", age: int = 0
) -> dict[str, Any]:
    """kwargs for ``client.post``: a body signed as Slack signs it (``v0``, over timestamp and raw body)."""
    from slack_sdk.signature import SignatureVerifier

    timestamp = str(int(time.time()) - age)
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature, "Content-Type": content_type}
    return {"content": body.encode(), "headers": headers}


def body_bytes(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def github_request(
    event: str, payload: Any, *, secret: str = GITHUB_SECRET, delivery: str | None = None
) -> dict[str, Any]:
    """kwargs for ``client.post``: the body and headers GitHub sends (``X-Hub-Signature-256`` over the raw body)."""
    body = body_bytes(payload)
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/abc123",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
        "X-Hub-Signature-256": signature,
    }
    return {"content": body, "headers": headers}


def gh_commit(
    sha: str, at: datetime, *, author: str = "octocat", files: Sequence[str] = ("src/app.py",)
) -> dict[str, Any]:
    return {
        "id": sha,
        "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
        "distinct": True,
        "message": f"change {sha[:7]}",
        "timestamp": iso(at),
        "url": f"https://github.com/acme/checkout-api/commit/{sha}",
        "author": {"name": author, "email": f"{author}@example.com", "username": author},
        "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
        "added": [],
        "removed": [],
        "modified": list(files),
    }


def gh_push(branch: str, commits: list[dict[str, Any]], *, repo: dict[str, Any] = REPO) -> dict[str, Any]:
    return {
        "ref": f"refs/heads/{branch}",
        "before": "0" * 40,
        "after": commits[-1]["id"] if commits else "0" * 40,
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": "https://github.com/acme/checkout-api/compare/abc...def",
        "commits": commits,
        "head_commit": commits[-1] if commits else None,
        "repository": repo,
        "pusher": {"name": "octocat", "email": "octocat@example.com"},
        "sender": {"login": "octocat", "id": 583231},
    }


def gh_deployment(
    deployment_id: int, sha: str, created: datetime, *, environment: str = "production"
) -> dict[str, Any]:
    return {
        "url": f"https://api.github.com/repos/acme/checkout-api/deployments/{deployment_id}",
        "id": deployment_id,
        "node_id": "MDEwOkRlcGxveW1lbnQx",
        "sha": sha,
        "ref": "main",
        "task": "deploy",
        "payload": {},
        "original_environment": environment,
        "environment": environment,
        "description": None,
        "creator": {"login": "octocat", "id": 583231},
        "created_at": iso(created),
        "updated_at": iso(created),
    }


def gh_deployment_status(
    deployment_id: int,
    sha: str,
    state: str,
    at: datetime,
    *,
    created: datetime | None = None,
    environment: str = "production",
) -> dict[str, Any]:
    return {
        "action": "created",
        "deployment_status": {
            "url": f"https://api.github.com/repos/acme/checkout-api/deployments/{deployment_id}/statuses/1",
            "id": deployment_id * 10,
            "state": state,
            "creator": {"login": "octocat", "id": 583231},
            "description": "",
            "environment": environment,
            "target_url": "",
            "log_url": f"https://ci.example.com/deploys/{deployment_id}",
            "created_at": iso(at),
            "updated_at": iso(at),
            "deployment_url": f"https://api.github.com/repos/acme/checkout-api/deployments/{deployment_id}",
            "repository_url": "https://api.github.com/repos/acme/checkout-api",
        },
        "deployment": gh_deployment(deployment_id, sha, created or at, environment=environment),
        "repository": REPO,
        "sender": {"login": "octocat", "id": 583231},
    }


def gh_pull_request_merged(
    number: int, branch: str, merge_sha: str, merged: datetime, *, opened: datetime | None = None
) -> dict[str, Any]:
    """A ``pull_request`` ``closed`` delivery of a merged request; opened (``created_at``) a day before it
    merged unless given."""
    return {
        "action": "closed",
        "number": number,
        "pull_request": {
            "url": f"https://api.github.com/repos/acme/checkout-api/pulls/{number}",
            "id": 1000 + number,
            "number": number,
            "state": "closed",
            "title": "A change",
            "merged": True,
            "created_at": iso(opened or merged - timedelta(days=1)),
            "updated_at": iso(merged),
            "closed_at": iso(merged),
            "merged_at": iso(merged),
            "merge_commit_sha": merge_sha,
            "head": {"label": f"acme:{branch}", "ref": branch, "sha": "e" * 40},
            "base": {"label": "acme:main", "ref": "main", "sha": "f" * 40},
        },
        "repository": REPO,
        "sender": {"login": "octocat", "id": 583231},
    }


def gl_request(event: str, payload: Any, *, token: str = GITLAB_TOKEN, key: str | None = None) -> dict[str, Any]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/17.5.0",
        "X-Gitlab-Event": event,
        "X-Gitlab-Token": token,
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "X-Gitlab-Webhook-UUID": str(uuid.uuid4()),
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
        "Idempotency-Key": key or str(uuid.uuid4()),
    }
    return {"content": body_bytes(payload), "headers": headers}


GL_PROJECT = {
    "id": 30,
    "name": "ledger",
    "description": "",
    "web_url": "https://gitlab.example.com/acme/ledger",
    "path_with_namespace": "acme/ledger",
    "default_branch": "main",
}


def pd_request(
    payload: Any, *, secrets: Sequence[str] = (PAGERDUTY_SECRET,), webhook_id: str | None = None
) -> dict[str, Any]:
    body = body_bytes(payload)
    signatures = ",".join("v1=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "PagerDuty-Webhook/V3.0",
        "X-PagerDuty-Signature": signatures,
        "X-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Webhook-Subscription": "PY1OPTC",
    }
    return {"content": body, "headers": headers}


def pd_incident_event(
    event_type: str,
    incident_id: str,
    occurred: datetime,
    *,
    service: str = "Checkout API",
    created: datetime | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": incident_id,
        "type": "incident",
        "self": f"https://api.pagerduty.com/incidents/{incident_id}",
        "html_url": f"https://acme.pagerduty.com/incidents/{incident_id}",
        "number": 2,
        "status": event_type.split(".")[-1],
        "incident_key": "d3640fbd41094207a1c11e58e46b1662",
        "title": "Checkout error rate above 5%",
        "service": {
            "html_url": "https://acme.pagerduty.com/services/PF9KMXH",
            "id": "PF9KMXH",
            "self": "https://api.pagerduty.com/services/PF9KMXH",
            "summary": service,
            "type": "service_reference",
        },
        "assignees": [{"id": "PTUXL6G", "summary": "User 123", "type": "user_reference"}],
        "escalation_policy": {"id": "PUS0KTE", "summary": "Default", "type": "escalation_policy_reference"},
        "teams": [{"id": "PFCVPS0", "summary": "Engineering", "type": "team_reference"}],
        "priority": {"id": "PSO75BM", "summary": "P1", "type": "priority_reference"},
        "urgency": "high",
        "conference_bridge": None,
        "resolve_reason": None,
    }
    if created is not None:
        data["created_at"] = iso(created)
    return {
        "event": {
            "id": str(uuid.uuid4()),
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": iso(occurred),
            "agent": {"id": "PLH1HKV", "summary": "Tenex Engineer", "type": "user_reference"},
            "client": {"name": "PagerDuty"},
            "data": data,
        }
    }
