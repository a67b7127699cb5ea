"""``frictionlog import pagerduty``: a year of incidents walked in 180-day windows, 100 a page, with their
log entries, into the incident rows the v3 webhooks make; idempotent with the webhook, resumable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from integrations.history import sources
from integrations.history.client import ImportFailed
from integrations.history.runner import ImportSummary
from service.core.db import get_engine
from service.core.models import Incident
from service.core.settings import Settings
from tests.helpers import empty_all_tables, make_settings
from tests.pagerduty_standin import PagerDutyStandIn, log_entries, make_incidents, serve_pagerduty
from tests.vendors import pd_request
from workers.process import drain

SINCE = datetime(2025, 12, 1, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=365)
COUNT = 250


def incidents() -> list[dict[str, Any]]:
    return make_incidents(SINCE + timedelta(hours=1), COUNT, every=timedelta(hours=35))


def settings_for(database_url: str, tmp_path: Path, stand_in: PagerDutyStandIn) -> Settings:
    return make_settings(database_url, tmp_path, pagerduty_api_key="pd-key", pagerduty_api_url=stand_in.url)


def run(settings: Settings, **client: Any) -> ImportSummary:
    options = {"sleep": lambda _s: None, "backoff_seconds": 0.0, **client}
    return sources.run(settings, "pagerduty", ["PF9KMXH"], since=SINCE, until=UNTIL, client_options=options)


def expected(items: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """From the stand-in's own log entries: (id, status, acknowledged, resolved)."""
    rows = set()
    for incident in items:
        times = {entry["type"]: entry["created_at"] for entry in log_entries(incident)}
        rows.add(
            (incident["id"], incident["status"], times.get("acknowledge_log_entry"), times.get("resolve_log_entry"))
        )
    return rows


def stored(settings: Settings) -> set[tuple[Any, ...]]:
    def shown(moment: datetime | None) -> str | None:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None

    with Session(get_engine(settings.database_url)) as session:
        return {
            (i.external_id, i.status, shown(i.acknowledged_at), shown(i.resolved_at))
            for i in session.exec(select(Incident)).all()
        }


def test_a_year_in_180_day_windows_of_100_gives_every_incident_once(database_url: str, tmp_path: Path) -> None:
    items = incidents()
    with serve_pagerduty(PagerDutyStandIn(items)) as stand_in:
        settings = settings_for(database_url, tmp_path, stand_in)
        summary = run(settings)
        drain(settings)
        listed = [params for path, params in stand_in.requests if path == "/incidents"]
    assert stored(settings) == expected(items)
    assert {p["limit"] for p in listed} == {"100"}
    assert [(p["since"], p["offset"]) for p in listed][:3] == [
        ("2025-12-01T00:00:00Z", "0"),
        ("2025-12-01T00:00:00Z", "100"),
        ("2026-05-30T00:00:00Z", "0"),
    ]
    assert summary.records()["incident"] == len(items) + sum(
        len(log_entries(i)) - 1 for i in items
    )  # one per webhook event: triggered, acknowledged, resolved


def test_webhook_and_import_give_one_row_and_a_rerun_changes_nothing(
    database_url: str, tmp_path: Path, client: TestClient
) -> None:
    items = incidents()
    for incident in items[:3]:  # the live webhook saw these triggers first
        event = {
            "id": f"live-{incident['id']}",
            "event_type": "incident.triggered",
            "occurred_at": incident["created_at"],
            "data": incident,
        }
        assert client.post("/webhooks/pagerduty", **pd_request({"event": event})).status_code == 202
    with serve_pagerduty(PagerDutyStandIn(items)) as stand_in:
        settings = settings_for(database_url, tmp_path, stand_in)
        drain(settings)
        first = run(settings)
        drain(settings)
        assert stored(settings) == expected(items)
        asked = len(stand_in.requests)
        later = sources.run(  # a day later: only the rest is asked for, from a day before the covered end
            settings, "pagerduty", ["PF9KMXH"], since=SINCE, until=UNTIL + timedelta(days=1)
        )
        windows = [q["since"] for path, q in stand_in.requests[asked:] if path == "/incidents"]
        earlier = sources.run(  # a window starting earlier: read again whole, every delivery a duplicate
            settings, "pagerduty", ["PF9KMXH"], since=SINCE - timedelta(days=1), until=UNTIL
        )
        drain(settings)
    assert stored(settings) == expected(items)
    assert windows == [(UNTIL - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert sum(s.stored for s in later.scopes) == 0
    assert sum(s.stored for s in earlier.scopes) == 0
    assert sum(s.already for s in earlier.scopes) == sum(s.stored for s in first.scopes)


def test_an_import_that_gave_up_resumes_from_its_checkpoint(sqlite_url: str, tmp_path: Path) -> None:
    from tests.helpers import empty_all_tables

    empty_all_tables(sqlite_url)
    items = incidents()
    broken = PagerDutyStandIn(items, trouble=lambda _path, params, _n: "500" if params.get("offset") == "100" else None)
    with serve_pagerduty(broken) as stand_in:
        settings = settings_for(sqlite_url, tmp_path, stand_in)
        with pytest.raises(ImportFailed, match="HTTP 500 after 5 tries"):
            run(settings)
        stand_in.trouble = lambda _p, _q, _n: None
        before = len(stand_in.requests)
        summary = run(settings)
        resumed = stand_in.requests[before]
        drain(settings)
    assert summary.scopes[0].resumed
    assert (resumed[0], resumed[1]["offset"]) == ("/incidents", "100")  # not the first page again
    assert stored(settings) == expected(items)


def test_a_429_waits_for_its_retry_after(sqlite_url: str, tmp_path: Path) -> None:
    from tests.helpers import empty_all_tables

    empty_all_tables(sqlite_url)
    waits: list[float] = []
    with serve_pagerduty(PagerDutyStandIn(incidents()[:5], trouble=lambda _p, _q, n: "429" if n == 2 else None)) as s:
        summary = run(settings_for(sqlite_url, tmp_path, s), sleep=waits.append)
    assert (summary.refused, waits) == (1, [3.0])


def test_a_window_past_the_offset_cap_starts_again_from_its_last_incident(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PagerDuty's classic pagination refuses offset + limit past 10,000 (a 400); a window holding more
    incidents is walked again from the creation time of the last one read. Scaled down: a cap of 300."""
    from integrations.history import pagerduty

    empty_all_tables(sqlite_url)
    monkeypatch.setattr(pagerduty, "OFFSET_CAP", 300)
    items = make_incidents(SINCE + timedelta(hours=1), 720, every=timedelta(hours=5))  # 150 days: one window
    with serve_pagerduty(PagerDutyStandIn(items, offset_cap=300)) as stand_in:
        settings = settings_for(sqlite_url, tmp_path, stand_in)
        run(settings)
        drain(settings)
        listed = [params for path, params in stand_in.requests if path == "/incidents"]
    assert stored(settings) == expected(items)
    assert max(int(p["offset"]) + int(p["limit"]) for p in listed) <= 300
    assert len({p["since"] for p in listed}) >= 3  # started again from a later incident, twice or more
    assert {p["sort_by"] for p in listed} == {"created_at:asc"}
