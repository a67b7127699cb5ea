"""A local stand-in for PagerDuty's REST API v2 as the history importer reads it: ``GET /incidents`` (with
``since``/``until`` refused past 6 months, ``service_ids[]``, ``limit`` at most 100, ``offset``/``more``)
and ``GET /incidents/{id}/log_entries``, with incidents and log entries written here from the shapes
PagerDuty's API reference documents. ``trouble(path, params, n)``: ``"500"`` or ``"429"`` (``Retry-After``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.factories import iso
from tests.standin import JsonHandler, serving

Trouble = Callable[[str, dict[str, str], int], str | None]
SERVICE = {"id": "PF9KMXH", "type": "service_reference", "summary": "Checkout API"}


def make_incidents(start: datetime, count: int, *, every: timedelta) -> list[dict[str, Any]]:
    """``count`` incidents ``every`` apart: most resolved (acknowledged 5 min in, resolved 40 min in), every
    fourth only acknowledged, the last one still triggered."""
    incidents = []
    for n in range(count):
        created = start + n * every
        status = "triggered" if n == count - 1 else ("acknowledged" if n % 4 == 1 else "resolved")
        incidents.append(
            {
                "id": f"Q{n:06d}",
                "type": "incident",
                "summary": f"[#{n}] Checkout error rate above 5%",
                "self": f"https://api.pagerduty.com/incidents/Q{n:06d}",
                "html_url": f"https://acme.pagerduty.com/incidents/Q{n:06d}",
                "incident_number": n,
                "title": "Checkout error rate above 5%",
                "created_at": iso(created),
                "updated_at": iso(created + timedelta(minutes=40)),
                "status": status,
                "incident_key": f"key-{n}",
                "service": SERVICE,
                "assignments": [],
                "last_status_change_at": iso(created + timedelta(minutes=5 if status != "resolved" else 40)),
                "first_trigger_log_entry": {"id": f"T{n}", "type": "trigger_log_entry_reference"},
                "escalation_policy": {"id": "PUS0KTE", "type": "escalation_policy_reference"},
                "teams": [{"id": "PFCVPS0", "type": "team_reference", "summary": "Engineering"}],
                "priority": {"id": "PSO75BM", "type": "priority", "summary": "P1"} if n % 2 else None,
                "urgency": "high",
            }
        )
    return incidents


def log_entries(incident: dict[str, Any]) -> list[dict[str, Any]]:
    """The incident's overview entries, newest first as PagerDuty lists them."""
    created = datetime.fromisoformat(incident["created_at"].replace("Z", "+00:00"))
    reference = {"id": incident["id"], "type": "incident_reference"}
    entries = [{"id": "T", "type": "trigger_log_entry", "created_at": incident["created_at"], "incident": reference}]
    if incident["status"] in ("acknowledged", "resolved"):
        at = iso(created + timedelta(minutes=5))
        entries.append({"id": "A", "type": "acknowledge_log_entry", "created_at": at, "incident": reference})
    if incident["status"] == "resolved":
        at = iso(created + timedelta(minutes=40))
        entries.append({"id": "R", "type": "resolve_log_entry", "created_at": at, "incident": reference})
    return entries[::-1]


@dataclass(slots=True)
class PagerDutyStandIn:
    incidents: list[dict[str, Any]]
    trouble: Trouble = field(default=lambda _path, _params, _n: None)
    offset_cap: int = 10_000
    """Classic pagination's limit on offset + limit (a 400 past it)."""
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        limit, offset = int(params.get("limit", "25")), int(params.get("offset", "0"))
        if limit > 100:
            return 400, {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["limit"]}}
        if offset + limit > self.offset_cap:
            errors = [f"Offset plus limit must be at most {self.offset_cap}"]
            return 400, {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": errors}}
        if path == "/incidents":
            since, until = _when(params["since"]), _when(params["until"])
            if until - since > timedelta(days=180):
                return 400, {"error": {"message": "Invalid Input Provided", "errors": ["Date range too large"]}}
            wanted = params.get("service_ids[]")
            items = sorted(
                (
                    i
                    for i in self.incidents
                    if since <= _when(i["created_at"]) < until and (wanted is None or i["service"]["id"] == wanted)
                ),
                key=lambda i: _when(i["created_at"]),
            )
            if params.get("sort_by", "created_at:asc") == "created_at:desc":
                items = items[::-1]
            key = "incidents"
        elif path.startswith("/incidents/") and path.endswith("/log_entries"):
            incident_id = path.split("/")[2]
            found = next((i for i in self.incidents if i["id"] == incident_id), None)
            if found is None:
                return 404, {"error": {"message": "Not Found", "code": 2100}}
            items, key = log_entries(found), "log_entries"
        else:
            return 404, {"error": {"message": "Not Found", "code": 2100}}
        chunk = items[offset : offset + limit]
        return 200, {key: chunk, "limit": limit, "offset": offset, "more": offset + limit < len(items), "total": None}


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _handler(stand_in: PagerDutyStandIn) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path, params = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
            with stand_in.lock:
                stand_in.requests.append((path, params))
                n = len(stand_in.requests)
            if not self.headers.get("Authorization", "").startswith("Token token="):
                return self.reply(401, {"error": {"message": "Unauthorized", "code": 2006}})
            trouble = stand_in.trouble(path, params, n)
            if trouble == "500":
                return self.reply(500, {"error": {"message": "Internal Server Error"}})
            if trouble == "429":
                return self.send_429()
            return self.reply(*stand_in.answer(path, params))

        def send_429(self) -> None:
            self.send_response(429)
            self.send_header("Retry-After", "3")
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@contextmanager
def serve_pagerduty(stand_in: PagerDutyStandIn) -> Iterator[PagerDutyStandIn]:
    with serving(_handler(stand_in)) as url:
        stand_in.url = url
        yield stand_in
