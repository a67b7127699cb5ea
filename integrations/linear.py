"""Linear webhooks: ``Issue`` and ``Project`` create / update / remove become work items.

Signed with ``Linear-Signature``: the hex HMAC-SHA256 of the raw body with the webhook's signing secret.
The body's ``webhookTimestamp`` (milliseconds) must be within FRICTIONLOG_LINEAR_TIMESTAMP_TOLERANCE_SECONDS
(a minute) of our clock, else 401: a captured delivery cannot be replayed later. ``Linear-Delivery``
identifies a delivery. State types (triage, backlog, unstarted, started, completed, canceled) decide
started and done unless the mapping names the state. An issue in a project is that project's child.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from integrations.config import IntegrationConfig
from integrations.payload import Payload, VendorTime, validated
from integrations.signatures import verify_body_time, verify_prefixed_hmac
from integrations.work_common import item_service
from service.core.errors import InvalidInput
from service.core.records import Ignored, InboxMeta, ParseResult, WorkItemRecord
from service.core.settings import Settings

SOURCE = "linear"
SIGNATURE_HEADER = "linear-signature"
DELIVERY_HEADER = "linear-delivery"
USED_TYPES = ("Issue", "Project")
ACTIONS = ("create", "update", "remove")


def verify(headers: Mapping[str, str], body: bytes, settings: Settings, *, now: datetime | None = None) -> None:
    verify_prefixed_hmac(
        headers, body, settings.linear_webhook_secret, header=SIGNATURE_HEADER, prefix="", source="Linear"
    )
    tolerance = settings.linear_timestamp_tolerance_seconds
    verify_body_time(body, field="webhookTimestamp", before_seconds=tolerance, after_seconds=tolerance, now=now)


def project_key(project_id: str) -> str:
    return f"linear-project:{project_id}"


class _State(Payload):
    name: str | None = None
    type: str | None = None


class _Team(Payload):
    key: str | None = None
    name: str | None = None


class _Label(Payload):
    name: str


class _Parent(Payload):
    id: str | None = None
    identifier: str | None = None


class _Issue(Payload):
    id: str
    identifier: str | None = None
    """``ENG-123``; older deliveries carry only ``number`` and ``team.key``, from which it is derived."""
    number: int | None = None
    title: str | None = None
    state: _State | None = None
    team: _Team | None = None
    labels: list[_Label] = []
    parent: _Parent | None = None
    projectId: str | None = None  # the vendor's field names
    createdAt: VendorTime | None = None
    updatedAt: VendorTime | None = None
    url: str | None = None


class _Project(Payload):
    id: str
    name: str | None = None
    state: str | None = None
    status: _State | None = None
    createdAt: VendorTime | None = None
    updatedAt: VendorTime | None = None
    url: str | None = None


class Envelope(Payload):
    action: str
    type: str
    createdAt: VendorTime | None = None
    url: str | None = None


class IssueEnvelope(Envelope):
    data: _Issue


class ProjectEnvelope(Envelope):
    data: _Project


def event_type(headers: Mapping[str, str], value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    return f"{value.get('type', '')}.{value.get('action', '')}" if value.get("type") else ""


def delivery_key(headers: Mapping[str, str]) -> str | None:
    return headers.get(DELIVERY_HEADER)


def parse(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    kind, _, action = meta.event_type.partition(".")
    if kind not in USED_TYPES or action not in ACTIONS:
        return Ignored(f"Linear event {meta.event_type!r} is not used")
    if kind == "Issue":
        issue = validated(IssueEnvelope, value)
        return [_issue(issue, issue.data, config, removed=action == "remove")]
    project = validated(ProjectEnvelope, value)
    return [_project(project, project.data, config, removed=action == "remove")]


def _changed_at(envelope: Envelope, updated: datetime | None, created: datetime | None) -> datetime:
    moment = envelope.createdAt or updated or created
    if moment is None:
        raise InvalidInput("createdAt is required", field="createdAt")
    return moment


def issue_key(issue_id: str) -> str:
    """The key of an issue whose delivery names neither its identifier nor its team and number."""
    return f"linear-issue:{issue_id}"


def _issue_key(issue: _Issue) -> str:
    """``ENG-123`` (what commits and pull requests name), from ``identifier``, else ``team.key``-``number``
    (older deliveries), else the issue's id: a delivery without them is kept, never refused."""
    if issue.identifier:
        return issue.identifier.upper()
    team = issue.team.key if issue.team else None
    if team and issue.number is not None:
        return f"{team}-{issue.number}".upper()
    return issue_key(issue.id)


def _parent_key(parent: _Parent | None) -> str | None:
    if parent is None:
        return None
    if parent.identifier:
        return parent.identifier.upper()
    return issue_key(parent.id) if parent.id else None


def _issue(envelope: Envelope, issue: _Issue, config: IntegrationConfig, *, removed: bool) -> WorkItemRecord:
    mapping = config.work_mapping
    labels = [label.name for label in issue.labels]
    team = issue.team.key if issue.team else None
    state = issue.state or _State()
    named = mapping.service(labels=labels, team=team)
    return WorkItemRecord(
        source=SOURCE,
        key=_issue_key(issue),
        kind=mapping.kind(issue_type=None, labels=labels, project=team),
        status=mapping.status(name=state.name, type_=state.type) or "open",
        raw_status=(state.name or state.type or "")[:128] or None,
        changed_at=_changed_at(envelope, issue.updatedAt, issue.createdAt),
        title=(issue.title or "")[:1000] or None,
        service=item_service(config, named),
        team=team,
        labels=tuple(labels),
        created_at=issue.createdAt,
        parent=_parent_key(issue.parent) or (project_key(issue.projectId) if issue.projectId else None),
        url=issue.url or envelope.url,
        deleted=removed,
    )


def _project(envelope: Envelope, project: _Project, config: IntegrationConfig, *, removed: bool) -> WorkItemRecord:
    state_type = (project.status.type if project.status else None) or project.state
    name = project.status.name if project.status else None
    return WorkItemRecord(
        source=SOURCE,
        key=project_key(project.id),
        kind="feature",
        status=config.work_mapping.status(name=name, type_=state_type) or "open",
        raw_status=(name or state_type or "")[:128] or None,
        changed_at=_changed_at(envelope, project.updatedAt, project.createdAt),
        title=(project.name or "")[:1000] or None,
        created_at=project.createdAt,
        url=project.url or envelope.url,
        deleted=removed,
    )
