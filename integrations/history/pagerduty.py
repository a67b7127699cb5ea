"""PagerDuty's history through its REST API v2, as the v3 webhook events ``integrations.pagerduty`` parses.

``GET /incidents?service_ids[]=…&since&until&sort_by=created_at:asc&limit=100&offset`` (``more`` says
whether a page follows; the range may not pass 6 months, so a longer one is walked in windows of 180 days;
classic offset paging stops at offset + limit = 10,000, so a window with more incidents than that is
started again from the creation time of the last incident read, the ones of that second read twice and
stored once), and for each incident that was
acknowledged or resolved its overview log entries (``GET /incidents/{id}/log_entries?is_overview=true``):
the incident becomes ``incident.triggered`` at its creation, ``incident.acknowledged`` at its first
acknowledge entry and ``incident.resolved`` at its resolve entry, each keyed by the incident and the event
so a re-run, and the live webhook, land on the same incident row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from integrations import pagerduty as webhook
from integrations.config import IntegrationConfig
from integrations.history.checkpoint import Window
from integrations.history.client import ApiClient, Credential, ImportFailed
from integrations.history.paging import offset_more
from integrations.history.runner import Scope, delivery
from integrations.history.scope import WindowedScope
from service.core.errors import InvalidInput
from service.core.timeutil import parse_timestamp
from service.ingest.inbox import Delivery

SOURCE = webhook.SOURCE
LIMIT = 100
MAX_RANGE = timedelta(days=180)
OFFSET_CAP = 10_000
"""PagerDuty's classic pagination answers offset + limit up to this, and a 400 past it."""
NEEDS = "a read-only REST API key (account or user token) that can read incidents and their log entries"
ENTRY_EVENTS = {"acknowledge_log_entry": "incident.acknowledged", "resolve_log_entry": "incident.resolved"}


def credential(key: str) -> Credential:
    return Credential(
        {"Authorization": f"Token token={key}", "Accept": "application/vnd.pagerduty+json;version=2"},
        "FRICTIONLOG_PAGERDUTY_API_KEY",
        NEEDS,
    )


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(value: Any) -> datetime | None:
    try:
        return parse_timestamp(value, field="created_at")
    except InvalidInput:
        return None


@dataclass(slots=True)
class ServiceScope(WindowedScope):
    service_id: str
    source = SOURCE
    key_format = "{service_id}:incidents"
    longest = MAX_RANGE
    path = "/incidents"
    listed = "incidents"

    def params(self, current: Window, state: dict[str, Any], /) -> dict[str, str | int]:
        params: dict[str, str | int] = {
            "since": state.get("from") or _iso(current.since),
            "until": _iso(current.until),
            "sort_by": "created_at:asc",
            "limit": LIMIT,
            "offset": state["offset"],
            "time_zone": "UTC",
        }
        if self.service_id != "all":
            params["service_ids[]"] = self.service_id
        return params

    def following(self, data: Any, items: list[Any], state: dict[str, Any], /) -> dict[str, Any] | None:
        following = offset_more(data, int(state["offset"]))
        if following is not None and following + LIMIT > OFFSET_CAP:
            return {"offset": 0, "from": self._restart(items, state)}
        if following is not None:
            return {"offset": following, "from": state.get("from")}
        return None

    def _restart(self, incidents: list[Any], state: dict[str, Any]) -> str:
        """Where a window past the offset cap starts again: the creation time of the last incident read."""
        times = [_time(i.get("created_at")) for i in incidents if isinstance(i, dict)]
        last = max((t for t in times if t is not None), default=None)
        if last is None or _iso(last) == state.get("from"):
            raise ImportFailed(
                f"{self.key}: more than {OFFSET_CAP} incidents created in one second; PagerDuty cannot page past them"
            )
        return _iso(last)

    def events(self, client: ApiClient, incident: Any, /) -> list[Delivery] | str:
        """The incident's webhook events: triggered, then acknowledged and resolved from its log entries."""
        if not isinstance(incident, dict) or not incident.get("id") or not incident.get("created_at"):
            return "incident without an id or a creation time"
        moments = [("incident.triggered", str(incident["created_at"]))]
        if incident.get("status") in ("acknowledged", "resolved"):
            moments.extend(self._entries(client, str(incident["id"])))
        return [
            delivery(
                SOURCE,
                event_type,
                {
                    "event": {
                        "id": f"import-{incident['id']}-{event_type}",
                        "event_type": event_type,
                        "resource_type": "incident",
                        "occurred_at": at,
                        "data": {**incident, "type": "incident"},
                    }
                },
                f"pagerduty:{incident['id']}:{event_type}",
            )
            for event_type, at in moments
        ]

    def _entries(self, client: ApiClient, incident_id: str) -> list[tuple[str, str]]:
        """The first acknowledge and the resolve of the incident (paged with offset/more as well)."""
        found: dict[str, str] = {}
        offset: int | None = 0
        while offset is not None:
            params: dict[str, str | int] = {"is_overview": "true", "limit": LIMIT, "offset": offset, "time_zone": "UTC"}
            page = client.get(f"/incidents/{incident_id}/log_entries", params, scope=self.key)
            entries = page.data.get("log_entries") if isinstance(page.data, dict) else None
            for entry in entries if isinstance(entries, list) else []:
                event_type = ENTRY_EVENTS.get(str(entry.get("type"))) if isinstance(entry, dict) else None
                at = _time(entry.get("created_at")) if event_type else None
                if event_type and at and (event_type not in found or _iso(at) < found[event_type]):
                    found[event_type] = _iso(at)
            offset = offset_more(page.data, offset)
        return sorted(found.items(), key=lambda item: item[1])


def scopes(service_ids: list[str], config: IntegrationConfig) -> list[Scope]:
    return [ServiceScope(service_id, config=config) for service_id in service_ids]
