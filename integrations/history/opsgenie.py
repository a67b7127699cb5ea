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
from integrations.history.client import ApiClient, Credential, ImportFailed
from integrations.history.paging import as_object, next_window, state_cursor, window_state, windows
from integrations.history.runner import Batch, Scope, delivery
from integrations.history.scope import VendorScope
from integrations.payload import vendor_time

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
class AlertScope(VendorScope):
    query: str
    """An Opsgenie search query narrowing the alerts (``all``: every alert), e.g. ``teams:payments``."""
    source = SOURCE
    key_format = "{query}:alerts"

    def fetch(self, client: ApiClient, cursor: str | None, window: Window, /) -> Batch:
        state = window_state(cursor)
        ranges = windows(window, RANGE)
        if not ranges:
            return Batch([], None)
        current = ranges[state["window"]]
        query = f"createdAt>={_ms(current.since)} AND createdAt<{_ms(current.until)}"
        if self.query != "all":
            query = f"({self.query}) AND {query}"
        params: dict[str, str | int] = {
            "query": query,
            "sort": "createdAt",
            "order": "asc",
            "limit": LIMIT,
            "offset": state["offset"],
        }
        page = client.get("/v2/alerts", params, scope=self.key)
        alerts = page.data.get("data") if isinstance(page.data, dict) else None
        if not isinstance(alerts, list):
            raise ImportFailed(f"{self.key}: the answer has no data list")
        out, skipped = [], []
        for alert in alerts:
            try:
                events = alert_events(alert) if isinstance(alert, dict) and alert.get("id") else None
            except (KeyError, ValueError):
                events = None
            if events is None:
                skipped.append("alert without an id or a readable creation time")
                continue
            for action, shown in events:
                body = {"action": action, "alert": shown, "source": {"name": "frictionlog-import"}}
                out.append(delivery(SOURCE, action, body, f"opsgenie:{alert['id']}:{action}"))
        paging = page.data.get("paging") if isinstance(page.data, dict) else None
        if len(alerts) == LIMIT and isinstance(paging, dict) and paging.get("next"):
            next_state: dict[str, Any] | None = {"window": state["window"], "offset": state["offset"] + LIMIT}
        else:
            next_state = next_window(state, ranges)
        return Batch(out, state_cursor(next_state), skipped)


def scopes(queries: list[str], config: IntegrationConfig) -> list[Scope]:
    return [AlertScope(query, config=config) for query in queries]
