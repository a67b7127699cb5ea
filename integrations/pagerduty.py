"""PagerDuty v3 webhooks: incident triggered, acknowledged, resolved, priority updated.

Signed with ``X-PagerDuty-Signature`` (``v1=<hex>``, several during a secret rotation); ``X-Webhook-Id``
identifies a delivery. A resolve happens at ``event.occurred_at``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.config import IntegrationConfig
from integrations.payload import Payload, VendorTime, validated
from integrations.signatures import verify_pagerduty
from integrations.work_common import incident_category
from service.core.records import Ignored, InboxMeta, IncidentRecord, ParseResult
from service.core.settings import Settings

SOURCE = "pagerduty"
USED = {
    "incident.triggered": "triggered",
    "incident.acknowledged": "acknowledged",
    "incident.resolved": "resolved",
    "incident.priority_updated": "triggered",
}


def verify(headers: Mapping[str, str], body: bytes, settings: Settings) -> None:
    verify_pagerduty(headers, body, settings.pagerduty_webhook_secret)


class _Reference(Payload):
    id: str
    summary: str | None = None


class _Incident(Payload):
    id: str
    type: str
    status: str | None = None
    title: str | None = None
    html_url: str | None = None
    created_at: VendorTime | None = None
    service: _Reference
    priority: _Reference | None = None
    urgency: str | None = None
    teams: list[_Reference] = []


class _Event(Payload):
    id: str
    event_type: str
    occurred_at: VendorTime
    data: _Incident


class Envelope(Payload):
    event: _Event


def event_type(headers: Mapping[str, str], value: Any) -> str:
    event = value.get("event") if isinstance(value, dict) else None
    return str(event.get("event_type", "")) if isinstance(event, dict) else ""


def delivery_key(headers: Mapping[str, str]) -> str | None:
    return headers.get("x-webhook-id")


def parse(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    if meta.event_type == "pagey.ping":
        return Ignored("ping")
    status = USED.get(meta.event_type)
    if status is None:
        return Ignored(f"PagerDuty event {meta.event_type!r} is not used")
    event = validated(Envelope, value).event
    incident = event.data
    service = config.service_for(
        incident.service.id, incident.service.summary, fallback=incident.service.summary or incident.service.id
    )
    return [
        IncidentRecord(
            source=SOURCE,
            external_id=incident.id,
            service=service,
            status=status,
            # Only the trigger tells when it began; the earliest start seen wins when events merge.
            started_at=incident.created_at or event.occurred_at,
            acknowledged_at=event.occurred_at if status == "acknowledged" else None,
            resolved_at=event.occurred_at if status == "resolved" else None,
            severity=(incident.priority.summary if incident.priority else None) or incident.urgency,
            title=(incident.title or "")[:1000] or None,
            url=incident.html_url,
            **incident_category(
                config,
                vendor_services=[incident.service.id, incident.service.summary],
                teams=[name for team in incident.teams for name in (team.id, team.summary)],
                title=incident.title,
                service=service,
            ),
        )
    ]
