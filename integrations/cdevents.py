"""CDEvents 0.5 over CloudEvents (structured JSON mode) on ``/webhooks/cdevents``.

Used: ``dev.cdevents.ticket.created|updated|closed.0.2.0`` (work items), ``dev.cdevents.service.deployed.*``
(deployments) and ``dev.cdevents.incident.detected|resolved.*`` (incidents). The body is a CloudEvent
whose ``data`` is the CDEvent (``context`` + ``subject``); a bare CDEvent is read too. Fields CDEvents
does not define travel in ``customData``: ``status`` (open | in_progress | done | cancelled) and
``parent`` of a ticket, ``work_items`` and ``commit_sha`` of a deployment, ``category`` of an incident.

Authenticated by a bearer token with the ``ingest`` scope, or ``X-Signature-256: sha256=<hex>`` (the
HMAC-SHA256 of the raw body with FRICTIONLOG_CDEVENTS_WEBHOOK_SECRET).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from integrations.config import IntegrationConfig
from integrations.payload import Payload, VendorTime, first_error
from integrations.signatures import verify_prefixed_hmac
from integrations.work_common import incident_category, item_service
from service.core.errors import InvalidInput
from service.core.records import (
    DeploymentRecord,
    Ignored,
    InboxMeta,
    IncidentRecord,
    ParseResult,
    Record,
    WorkItemRecord,
    WorkItemReferenceRecord,
)
from service.core.settings import Settings
from service.figures.work.mapping import STATUSES

SOURCE = "cdevents"
SIGNATURE_HEADER = "x-signature-256"
PREFIX = "dev.cdevents."
Config = IntegrationConfig
_CLOSED = {"completed": "done", "withdrawn": "cancelled", "duplicate": "cancelled"}


def verify(headers: Mapping[str, str], body: bytes, settings: Settings) -> None:
    verify_prefixed_hmac(
        headers,
        body,
        settings.cdevents_webhook_secret,
        header=SIGNATURE_HEADER,
        prefix="sha256=",
        source="CDEvents",
    )


class _Ref(Payload):
    id: str
    source: str | None = None


class _Context(Payload):
    id: str
    source: str
    type: str
    timestamp: VendorTime


class _Subject(Payload):
    id: str
    content: dict[str, Any] = {}


class CDEvent(Payload):
    context: _Context
    subject: _Subject
    customData: dict[str, Any] | str | None = None  # the spec's field name


class _Ticket(Payload):
    summary: str | None = None
    ticketType: str | None = None
    group: str | None = None
    labels: list[str] = []
    uri: str | None = None
    resolution: str | None = None


class _Deployed(Payload):
    environment: _Ref
    artifactId: str | None = None


class _Incident(Payload):
    description: str | None = None
    environment: _Ref | None = None
    service: _Ref | None = None
    artifactId: str | None = None


def _cdevent(value: Any) -> tuple[dict[str, Any], str]:
    """The CDEvent in a body and the prefix of field names in errors (``data.`` inside a CloudEvent)."""
    if not isinstance(value, dict):
        raise InvalidInput("the payload must be a JSON object")
    if "context" in value:
        return value, ""
    data = value.get("data")
    if not isinstance(data, dict):
        raise InvalidInput("data: a CloudEvent carrying a CDEvent as JSON is required", field="data")
    return data, "data."


def event_type(headers: Mapping[str, str], value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    context = value.get("context")
    if isinstance(context, dict):
        return str(context.get("type", ""))
    return str(value.get("type") or headers.get("ce-type", ""))


def delivery_key(headers: Mapping[str, str]) -> str | None:
    return headers.get("ce-id")


def _validated(model: type[Any], value: Any, prefix: str) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        error = first_error(exc)
        field = f"{prefix}{error.field}" if error.field else prefix.rstrip(".") or None
        raise InvalidInput(f"{field}: {error.message.split(': ', 1)[-1]}", field=field) from None


def _family(event_type_: str) -> str:
    """``dev.cdevents.ticket.created.0.2.0`` → ``ticket.created``."""
    parts = event_type_.removeprefix(PREFIX).split(".")
    return ".".join(parts[:2])


def _service_name(config: IntegrationConfig, name: str) -> str:
    """A CDEvents service id (``service/checkout-api`` or a URI) → our slug."""
    return item_service(config, name, fallback=name.rstrip("/").rsplit("/", 1)[-1]) or "unknown"


def parse(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    family = _family(meta.event_type) if meta.event_type.startswith(PREFIX) else ""
    handler = _HANDLERS.get(family)
    if handler is None:
        return Ignored(f"CDEvents type {meta.event_type!r} is not used")
    body, prefix = _cdevent(value)
    event: CDEvent = _validated(CDEvent, body, prefix)
    custom = event.customData if isinstance(event.customData, dict) else {}
    return handler(event, custom, config, prefix, family)


def _ticket(
    event: CDEvent, custom: dict[str, Any], config: IntegrationConfig, prefix: str, family: str
) -> list[Record]:
    ticket: _Ticket = _validated(_Ticket, event.subject.content, f"{prefix}subject.content.")
    mapping = config.work_mapping
    wanted = custom.get("status")
    if wanted is not None and wanted not in STATUSES:
        field = f"{prefix}customData.status"
        raise InvalidInput(f"{field}: must be one of {', '.join(STATUSES)}", field=field)
    if family == "ticket.closed":
        status = _CLOSED.get((ticket.resolution or "completed").lower(), "done")
    else:
        labelled = next((found for label in ticket.labels if (found := mapping.status(name=label))), None)
        status = wanted or labelled or "open"
    named = custom.get("service") if isinstance(custom.get("service"), str) else None
    named = named or mapping.service(labels=ticket.labels, project=ticket.group)
    parent = custom.get("parent") if isinstance(custom.get("parent"), str) else None
    return [
        WorkItemRecord(
            source=SOURCE,
            key=event.subject.id[:256],
            kind=mapping.kind(issue_type=ticket.ticketType, labels=ticket.labels, project=ticket.group),
            status=status,
            raw_status=(ticket.resolution or family.split(".")[1])[:128],
            changed_at=event.context.timestamp,
            title=(ticket.summary or "")[:1000] or None,
            service=item_service(config, named),
            team=ticket.group,
            labels=tuple(ticket.labels),
            created_at=event.context.timestamp if family == "ticket.created" else None,
            parent=parent,
            url=ticket.uri,
        )
    ]


def _deployed(event: CDEvent, custom: dict[str, Any], config: IntegrationConfig, prefix: str, _f: str) -> list[Record]:
    content: _Deployed = _validated(_Deployed, event.subject.content, f"{prefix}subject.content.")
    sha = custom.get("commit_sha") if isinstance(custom.get("commit_sha"), str) else None
    items = custom.get("work_items", [])
    if not isinstance(items, list) or not all(isinstance(item, str) and item for item in items):
        field = f"{prefix}customData.work_items"
        raise InvalidInput(f"{field}: must be a list of work item keys", field=field)
    records: list[Record] = [
        DeploymentRecord(
            source=SOURCE,
            external_id=event.context.id[:256],
            service=_service_name(config, event.subject.id),
            environment=content.environment.id.rstrip("/").rsplit("/", 1)[-1][:64],
            status="success",
            finished_at=event.context.timestamp,
            sha=sha,
            version=(content.artifactId or "")[:128] or None,
        )
    ]
    records += [
        WorkItemReferenceRecord(key=key, kind="deployment", repository=SOURCE, ref=event.context.id[:256])
        for key in dict.fromkeys(items)
    ]
    return records


def _incident(
    event: CDEvent, custom: dict[str, Any], config: IntegrationConfig, prefix: str, family: str
) -> list[Record]:
    content: _Incident = _validated(_Incident, event.subject.content, f"{prefix}subject.content.")
    if content.service is None:
        field = f"{prefix}subject.content.service"
        raise InvalidInput(f"{field}: the affected service is required", field=field)
    service = _service_name(config, content.service.id)
    resolved = family == "incident.resolved"
    explicit = custom.get("category") if isinstance(custom.get("category"), str) else None
    title = (content.description or "")[:1000] or None
    return [
        IncidentRecord(
            source=SOURCE,
            external_id=event.subject.id[:256],
            service=service,
            status="resolved" if resolved else "triggered",
            started_at=event.context.timestamp,
            resolved_at=event.context.timestamp if resolved else None,
            title=title,
            **incident_category(config, explicit=explicit, title=title, service=service),
        )
    ]


_HANDLERS = {
    "ticket.created": _ticket,
    "ticket.updated": _ticket,
    "ticket.closed": _ticket,
    "service.deployed": _deployed,
    "incident.detected": _incident,
    "incident.resolved": _incident,
}
