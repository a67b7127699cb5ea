"""Opsgenie's history through its Alert API v2, as the outgoing-webhook actions ``integrations.opsgenie``
parses.

``GET /v2/alerts?query=createdAt>=… AND createdAt<…&sort=createdAt&order=asc&limit=100&offset`` (offset
paging; Opsgenie answers at most 20,000 alerts for one query, so a window is walked in 30-day queries).
Each alert becomes a ``Create`` action at its creation, an ``Acknowledge`` at ``createdAt + report.ackTime``
and a ``Close`` at ``createdAt + report.closeTime`` (the report's times are milliseconds after creation),
keyed by the alert and the action, so a re-run and the live webhook land on the same incident row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from integrations import opsgenie as webhook
from integrations.config import IntegrationConfig
from integrations.history.checkpoint import Window
from integrations.history.client import ApiClient, Credential
from integrations.history.paging import as_object
from integrations.history.runner import Scope, delivery
from integrations.history.scope import WindowedScope
from integrations.payload import vendor_time
from service.ingest.inbox import Delivery

SOURCE = webhook.SOURCE
LIMIT = 100
RANGE = timedelta(days=30)
NEEDS = "an API key of an API integration with Read access (Settings → Integrations → API)"


def credential(key: str) -> Credential:
    return Credential({"Authorization": f"GenieKey {key}"}, "FRICTIONLOG_OPSGENIE_API_KEY", NEEDS)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _after(created: datetime, milliseconds: Any) -> str | None:
    if isinstance(milliseconds, bool) or not isinstance(milliseconds, int | float) or milliseconds < 0:
        return None
    return (created + timedelta(milliseconds=milliseconds)).isoformat()


def alert_events(alert: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The alert's webhook actions: (action, the webhook's ``alert``) for Create, Acknowledge and Close."""
    created = vendor_time(alert["createdAt"])
    report = as_object(alert.get("report"))
    shown = {
        "alertId": alert["id"],
        "message": alert.get("message"),
        "tags": alert.get("tags") or [],
        "entity": alert.get("entity"),
        "priority": alert.get("priority"),
        "createdAt": alert["createdAt"],
        "teams": alert.get("teams") or [],
        "details": as_object(alert.get("details")),
    }
    events = [("Create", {**shown, "updatedAt": alert["createdAt"]})]
    acknowledged = _after(created, report.get("ackTime")) if alert.get("acknowledged") else None
    if acknowledged:
        events.append(("Acknowledge", {**shown, "updatedAt": acknowledged}))
    closed = _after(created, report.get("closeTime")) if alert.get("status") == "closed" else None
    if closed:
        events.append(("Close", {**shown, "updatedAt": closed}))
    return events


@dataclass(slots=True)
class AlertScope(WindowedScope):
    query: str
    """An Opsgenie search query narrowing the alerts (``all``: every alert), e.g. ``teams:payments``."""
    source = SOURCE
    key_format = "{query}:alerts"
    longest = RANGE
    path = "/v2/alerts"
    listed = "data"

    def params(self, current: Window, state: dict[str, Any], /) -> dict[str, str | int]:
        query = f"createdAt>={_ms(current.since)} AND createdAt<{_ms(current.until)}"
        if self.query != "all":
            query = f"({self.query}) AND {query}"
        return {"query": query, "sort": "createdAt", "order": "asc", "limit": LIMIT, "offset": state["offset"]}

    def events(self, _client: ApiClient, alert: Any, /) -> list[Delivery] | str:
        try:
            events = alert_events(alert) if isinstance(alert, dict) and alert.get("id") else None
        except (KeyError, ValueError):
            events = None
        if events is None:
            return "alert without an id or a readable creation time"
        return [
            delivery(
                SOURCE,
                action,
                {"action": action, "alert": shown, "source": {"name": "frictionlog-import"}},
                f"opsgenie:{alert['id']}:{action}",
            )
            for action, shown in events
        ]

    def following(self, data: Any, items: list[Any], state: dict[str, Any], /) -> dict[str, Any] | None:
        paging = data.get("paging") if isinstance(data, dict) else None
        if len(items) == LIMIT and isinstance(paging, dict) and paging.get("next"):
            return {"offset": state["offset"] + LIMIT}
        return None


def scopes(queries: list[str], config: IntegrationConfig) -> list[Scope]:
    return [AlertScope(query, config=config) for query in queries]
