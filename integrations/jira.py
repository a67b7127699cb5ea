"""Jira Cloud webhooks: ``jira:issue_created``, ``jira:issue_updated`` (with its changelog) and
``jira:issue_deleted`` become work items.

Signed as Jira signs a webhook registered with a secret: ``X-Hub-Signature: sha256=<hex>``, the
HMAC-SHA256 of the raw body (the WebSub ``method=signature`` form). ``X-Atlassian-Webhook-Identifier``
identifies a delivery (a retry keeps it). The body's ``timestamp`` (milliseconds, when Jira raised the event;
a retry keeps it too) must be at most FRICTIONLOG_JIRA_REPLAY_WINDOW_SECONDS old (an hour: Jira's retries
and its secondary lane fit in it) and at most a minute ahead, else 401: a captured delivery re-sent later,
under a new identifier, is refused. Status categories (new / indeterminate / done) decide started
and done unless the mapping names the status.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from integrations.config import IntegrationConfig
from integrations.payload import Payload, VendorTime, validated
from integrations.signatures import verify_body_time, verify_prefixed_hmac
from integrations.work_common import item_service
from service.core.records import Ignored, InboxMeta, ParseResult, WorkItemRecord
from service.core.settings import Settings

SOURCE = "jira"
SIGNATURE_HEADER = "x-hub-signature"
DELIVERY_HEADER = "x-atlassian-webhook-identifier"
USED = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted")
CLOCK_SKEW_SECONDS = 60.0
"""How far ahead of our clock a delivery's ``timestamp`` may be (Jira's clock and ours disagree a little)."""


def verify(headers: Mapping[str, str], body: bytes, settings: Settings, *, now: datetime | None = None) -> None:
    verify_prefixed_hmac(
        headers, body, settings.jira_webhook_secret, header=SIGNATURE_HEADER, prefix="sha256=", source="Jira"
    )
    verify_body_time(
        body,
        field="timestamp",
        before_seconds=settings.jira_replay_window_seconds,
        after_seconds=CLOCK_SKEW_SECONDS,
        now=now,
    )


class _Named(Payload):
    name: str


class _Keyed(Payload):
    key: str


class _StatusCategory(Payload):
    key: str


class _Status(Payload):
    name: str
    statusCategory: _StatusCategory | None = None  # the vendor's field name


class _Fields(Payload):
    summary: str | None = None
    issuetype: _Named | None = None
    project: _Keyed
    status: _Status | None = None
    labels: list[str] = []
    components: list[_Named] = []
    parent: _Keyed | None = None
    created: VendorTime | None = None
    updated: VendorTime | None = None


class _Issue(Payload):
    id: str
    key: str
    self: str | None = None
    fields: _Fields


class _ChangeItem(Payload):
    field: str
    toString: str | None = None


class _Changelog(Payload):
    items: list[_ChangeItem] = []


class Envelope(Payload):
    webhookEvent: str
    timestamp: VendorTime
    issue: _Issue
    changelog: _Changelog | None = None


def event_type(headers: Mapping[str, str], value: Any) -> str:
    return str(value.get("webhookEvent", "")) if isinstance(value, dict) else ""


def delivery_key(headers: Mapping[str, str]) -> str | None:
    return headers.get(DELIVERY_HEADER)


def _browse_url(issue: _Issue) -> str | None:
    if not issue.self or "/rest/" not in issue.self:
        return None
    return issue.self.split("/rest/", 1)[0] + "/browse/" + issue.key


def parse(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    if meta.event_type not in USED:
        return Ignored(f"Jira event {meta.event_type!r} is not used")
    event = validated(Envelope, value)
    issue, fields, mapping = event.issue, event.issue.fields, config.work_mapping
    status_name = fields.status.name if fields.status else None
    # The changelog names the status moved to; the issue's fields carry its category.
    moved = [item.toString for item in (event.changelog.items if event.changelog else []) if item.field == "status"]
    raw = (moved[-1] if moved and moved[-1] else None) or status_name
    category = fields.status.statusCategory.key if fields.status and fields.status.statusCategory else None
    status = mapping.status(name=raw, category=category) or "open"
    components = [component.name for component in fields.components]
    named = mapping.service(labels=fields.labels, components=components, project=fields.project.key)
    kind = mapping.kind(
        issue_type=fields.issuetype.name if fields.issuetype else None, labels=fields.labels, project=fields.project.key
    )
    return [
        WorkItemRecord(
            source=SOURCE,
            key=issue.key.upper(),
            kind=kind,
            status=status,
            raw_status=raw[:128] if raw else None,
            changed_at=event.timestamp,
            title=(fields.summary or "")[:1000] or None,
            service=item_service(config, named),
            labels=tuple(fields.labels),
            created_at=fields.created,
            parent=fields.parent.key.upper() if fields.parent else None,
            url=_browse_url(issue),
            deleted=meta.event_type == "jira:issue_deleted",
        )
    ]
