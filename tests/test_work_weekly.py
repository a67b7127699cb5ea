"""Work metrics in /api/v1/metrics/weekly (JSON and CSV), from generic events through the worker, and
the database panel loader agreeing with them."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from service.core.db import get_engine
from service.core.settings import Settings
from service.figures.work.service import load_panel, load_panels
from tests.factories import T0, iso, make_deployment, make_incident
from workers.process import drain

DAY = timedelta(days=1)


def _item(key: str, kind: str, status: str, at: Any, service: str = "ml-api") -> dict[str, Any]:
    return {"type": "work_item", "id": key, "kind": kind, "status": status, "changed_at": iso(at), "service": service}


def _story() -> list[dict[str, Any]]:
    return [
        _item("ML-1", "feature", "open", T0 - 7 * DAY),
        _item("ML-1", "feature", "in_progress", T0 - 6 * DAY),  # started Tuesday of W40
        _item("ML-2", "feature", "in_progress", T0),
        make_deployment("d-1", service="ml-api", finished_at=T0 + 2 * DAY, work_items=["ML-1", "ML-2"]),  # W41
        _item("SUP-1", "support", "open", T0 + DAY),
        _item("SUP-1", "support", "done", T0 + 3 * DAY),
        _item("SUP-2", "support", "open", T0 + 8 * DAY),
        make_incident("I-1", service="ml-api", started_at=T0 + DAY, title="GPU node pool out of capacity"),
        make_incident("I-2", service="ml-api", started_at=T0 + 9 * DAY, category="application"),
    ]


def test_weekly_has_time_to_ship_support_and_infra_incidents(
    client: TestClient, settings: Settings, ingest_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    assert client.post("/webhooks/generic", json=_story(), headers=ingest_headers).status_code == 202
    drain(settings)
    params = {"from": "2026-09-28", "to": "2026-10-19", "group_by": "service"}
    rows = {
        (r["week"], r["group"]): r
        for r in client.get("/api/v1/metrics/weekly", params=params, headers=admin_headers).json()["rows"]
    }
    csv_text = client.get("/api/v1/metrics/weekly", params={**params, "format": "csv"}, headers=admin_headers).text
    csv_rows = {(r["week"], r["group"]): r for r in csv.DictReader(io.StringIO(csv_text))}

    w41 = rows[("2026-W41", "ml-api")]
    # ML-1: 8 days (Tue W40 → Wed W41), ML-2: 2 days → mean 5, median 5.
    assert (w41["time_to_ship_mean_days"], w41["time_to_ship_n"]) == (5.0, 2)
    assert (w41["support_tickets_opened"], w41["support_resolve_median_days"]) == (1, 2.0)
    assert (w41["infra_incidents"], w41["app_incidents"], w41["deployments"]) == (1, 0, 1)
    w42 = rows[("2026-W42", "ml-api")]
    assert (w42["support_tickets_opened"], w42["app_incidents"], w42["time_to_ship_n"]) == (1, 1, 0)
    assert float(csv_rows[("2026-W41", "ml-api")]["time_to_ship_mean_days"]) == 5.0
    assert csv_rows[("2026-W42", "ml-api")]["infra_incidents"] == "0"

    with Session(get_engine(settings.database_url)) as session:
        panel = load_panel(
            session,
            key="time_to_ship",
            tz="UTC",
            start=T0 - 7 * DAY,
            end=T0 + 14 * DAY,
            environments=frozenset({"production"}),
        )
        infra = load_panel(
            session,
            key="infra_incidents",
            tz="UTC",
            start=T0 - 7 * DAY,
            end=T0 + 14 * DAY,
            environments=frozenset({"production"}),
        )
        every = load_panels(
            session, tz="UTC", start=T0 - 7 * DAY, end=T0 + 14 * DAY, environments=frozenset({"production"})
        )
    assert set(every) == {"time_to_ship", "support_tickets", "infra_incidents", "app_incidents"}
    assert every["time_to_ship"].equals(panel)
    assert list(every["support_tickets"]["value"]) == [1.0, 1.0]
    assert list(every["app_incidents"]["value"]) == [0.0, 1.0]
    # T0 - 7 days is a Monday noon: that week is not whole, so the panel holds W41 and W42 only.
    assert panel[["value", "weight"]].fillna(-1).to_records(index=False).tolist() == [(5.0, 2.0), (-1.0, 0.0)]
    assert list(infra["value"]) == [1.0, 0.0]


def test_work_summary_reports_waiting_items_support_load_and_warnings(
    client: TestClient, settings: Settings, ingest_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    extra = [
        # Done but never named by anything: its time to ship falls back to done, with a warning.
        _item("ML-9", "feature", "in_progress", T0 + DAY),
        _item("ML-9", "feature", "done", T0 + 5 * DAY),
        # Named by a staging deployment only: done, not shipped.
        _item("ML-10", "feature", "in_progress", T0 + DAY),
        make_deployment("s-1", service="ml-api", environment="staging", finished_at=T0 + 2 * DAY, work_items=["ML-10"]),
        _item("ML-10", "feature", "done", T0 + 3 * DAY),
    ]
    assert client.post("/webhooks/generic", json=_story() + extra, headers=ingest_headers).status_code == 202
    drain(settings)
    params = {"from": "2026-10-05", "to": "2026-10-19", "service": "ml-api"}
    body = client.get("/api/v1/metrics/work", params=params, headers=admin_headers).json()

    assert body["time_to_ship"] == {
        "mean_days": 5.0,
        "median_days": 5.0,
        "n": 2,
        "done_fallback_n": 1,
        "low_sample": True,
    }
    assert [w["code"] for w in body["warnings"]] == ["time_to_ship_done_fallback"]
    waiting = {row["key"]: row for row in body["done_not_shipped"]["oldest"]}
    assert set(waiting) == {"ML-9", "ML-10"}
    assert (waiting["ML-10"]["referenced"], waiting["ML-9"]["referenced"]) == (True, False)
    assert body["support"]["opened"] == 2
    assert body["support"]["time_to_resolve"]["median_days"] == 2.0
    assert sum(body["support"]["open_by_age"].values()) == 1
    assert (body["incidents"]["infra_incidents"], body["incidents"]["application"]) == (1, 1)


def test_weekly_without_work_is_the_same_table_less_its_work_columns(
    client: TestClient, settings: Settings, ingest_headers: dict[str, str]
) -> None:
    """The service page's timeline asks for no work columns; every figure it does get is the full table's."""
    from service.figures.filters import Filters
    from service.figures.weekly import weekly_metrics
    from service.figures.work.weekly import COUNTS

    story = [*_story(), _item("SUP-0", "support", "open", T0 - 7 * DAY)]  # W40: a work item and nothing else
    assert client.post("/webhooks/generic", json=story, headers=ingest_headers).status_code == 202
    drain(settings)
    start, end = T0 - 14 * DAY, T0 + 14 * DAY
    with Session(get_engine(settings.database_url)) as session:
        full = weekly_metrics(session, settings, group_by="service", filters=Filters(), start=start, end=end)
        lean = weekly_metrics(
            session, settings, group_by="service", filters=Filters(), start=start, end=end, work=False
        )
    assert not set(COUNTS) & set(lean.columns)
    assert set(COUNTS) <= set(full.columns)
    assert set(lean.columns) <= set(full.columns)
    # The full table adds the weeks that only have work items (W40 here); the others agree column by column.
    assert set(zip(full["week"], full["group"], strict=True)) - set(zip(lean["week"], lean["group"], strict=True)) == {
        ("2026-W40", "ml-api")
    }
    joined = lean.merge(full, on=["week", "group"], suffixes=("", "_full"))
    assert len(joined) == len(lean) == 2
    for name in lean.columns.drop(["week", "group"]):
        assert joined[name].equals(joined[f"{name}_full"].astype(joined[name].dtype)), name
