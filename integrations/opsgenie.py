"""Opsgenie outgoing webhooks: alert Create, Acknowledge and Close become incidents.

Opsgenie does not sign its webhooks: authenticate with a bearer token holding the ``ingest`` scope, or
a shared secret in the ``X-Frictionlog-Token`` custom header (set in the integration's settings).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator

from integrations.config import IntegrationConfig
from integrations.payload import Payload, VendorTime, validated
from integrations.signatures import verify_token_header
from integrations.work_common import incident_category
from service.core.records import Ignored, InboxMeta, IncidentRecord, ParseResult
from service.core.settings import Settings

SOURCE = "opsgenie"
TOKEN_HEADER = "x-frictionlog-token"
USED = {"Create": "triggered", "Acknowledge": "acknowledged", "Close": "resolved"}


def verify(headers: Mapping[str, str], body: bytes, settings: Settings) -> None:
    verify_token_header(headers, TOKEN_HEADER, settings.opsgenie_webhook_token, "Opsgenie")


def _priority(value: Any) -> Any:
    """Opsgenie documents ``"P1"``–``"P5"``, but some deliveries send the number (``"priority": 3``)."""
    if isinstance(value, bool):
        raise ValueError("priority must be P1 to P5, or 1 to 5")
    if isinstance(value, int | float) and float(value).is_integer() and 1 <= value <= 5:
        return f"P{int(value)}"
    if isinstance(value, str) and value.strip().isdigit() and 1 <= int(value.strip()) <= 5:
        return f"P{int(value.strip())}"
    if isinstance(value, int | float):
        raise ValueError("priority must be P1 to P5, or 1 to 5")
    return value


Priority = Annotated[str, BeforeValidator(_priority)]


class _Alert(Payload):
    alertId: str  # the vendor's field name
    message: str | None = None
    tags: list[str] = []
    entity: str | None = None
    priority: Priority | None = None
    createdAt: VendorTime
    updatedAt: VendorTime | None = None
    details: dict[str, Any] = {}
    teams: list[str | dict[str, Any]] = []
    """Team ids (the webhook's form), or ``{"id", "name"}`` objects (the Alert API's form)."""


class Envelope(Payload):
    action: str
    alert: _Alert


def event_type(headers: Mapping[str, str], value: Any) -> str:
    return str(value.get("action", "")) if isinstance(value, dict) else ""


def delivery_key(headers: Mapping[str, str]) -> str | None:
    return None  # Opsgenie sends no delivery id: the key is a hash of the body


def _service(alert: _Alert, config: IntegrationConfig) -> str:
    tagged = [tag.split(":", 1)[1] for tag in alert.tags if tag.lower().startswith("service:")]
    named = alert.details.get("service") if isinstance(alert.details.get("service"), str) else None
    candidate = named or (tagged[0] if tagged else None) or alert.entity
    return config.service_for(candidate, alert.entity, fallback=candidate or "unknown")


def _teams(alert: _Alert) -> list[str]:
    names: list[str] = []
    for team in alert.teams:
        if isinstance(team, str):
            names.append(team)
        else:
            names += [str(team[field]) for field in ("id", "name") if isinstance(team.get(field), str)]
    return names


def parse(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    status = USED.get(meta.event_type)
    if status is None:
        return Ignored(f"Opsgenie action {meta.event_type!r} is not used")
    alert = validated(Envelope, value).alert
    changed_at = alert.updatedAt or meta.received_at  # stable across a rebuild, unlike the clock
    service = _service(alert, config)
    return [
        IncidentRecord(
            source=SOURCE,
            external_id=alert.alertId,
            service=service,
            status=status,
            started_at=alert.createdAt,
            acknowledged_at=changed_at if status == "acknowledged" else None,
            resolved_at=changed_at if status == "resolved" else None,
            severity=alert.priority,
            title=(alert.message or "")[:1000] or None,
            **incident_category(
                config, vendor_services=[alert.entity], teams=_teams(alert), title=alert.message, service=service
            ),
        )
    ]
