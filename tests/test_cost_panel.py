"""Per-service weekly panels of compute cost, GPU utilisation and cold-start p95 (pure, then from the DB)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from service.app.api.app import create_app
from service.core.db import session_scope
from service.figures.cost.currency import Currencies
from service.figures.cost.panel import (
    PANEL_COLUMNS,
    PANELS,
    cold_start_p95_panel,
    compute_cost_panel,
    gpu_utilisation_panel,
    load_panel,
    load_panels,
)
from tests.factories import iso, issue_token
from tests.fakes import RecordingWaker
from tests.helpers import make_settings
from workers.process import drain

MON = datetime(2026, 10, 5, tzinfo=UTC)  # 2026-W41
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
EUR = Currencies(reporting="USD", rates={"EUR": 1.1})


def costs(*rows: tuple[Any, ...]) -> pd.DataFrame:
    """(source, service, start, hours, amount, currency[, category])"""
    records = [
        {
            "source": r[0],
            "service": r[1],
            "team": None,
            "platform": None,
            "category": r[6] if len(r) > 6 else None,
            "period_start": r[2],
            "period_end": r[2] + r[3] * HOUR,
            "amount": float(r[4]),
            "currency": r[5],
            "cohort": "not_migrated",
        }
        for r in rows
    ]
    columns = ["source", "service", "team", "platform", "category", "period_start", "period_end", "amount"]
    frame = pd.DataFrame(records, columns=[*columns, "currency", "cohort"])
    for name in ("period_start", "period_end"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def measures(*rows: tuple[Any, ...]) -> pd.DataFrame:
    """(service, platform, metric, value, start, hours)"""
    records = [
        {
            "service": r[0],
            "team": None,
            "platform": r[1],
            "metric": r[2],
            "value": float(r[3]),
            "unit": None,
            "period_start": r[4],
            "period_end": r[4] + r[5] * HOUR,
            "cohort": "not_migrated",
        }
        for r in rows
    ]
    columns = ["service", "team", "platform", "metric", "value", "unit", "period_start", "period_end", "cohort"]
    frame = pd.DataFrame(records, columns=columns)
    for name in ("period_start", "period_end"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def as_dict(panel: pd.DataFrame) -> dict[tuple[str, date], tuple[float, float]]:
    assert list(panel.columns) == PANEL_COLUMNS
    rows: dict[tuple[str, date], tuple[float, float]] = {}
    for r in panel.itertuples():
        assert isinstance(r.service, str)
        assert isinstance(r.week_start, date)
        assert isinstance(r.value, float)
        assert isinstance(r.weight, float)
        rows[(r.service, r.week_start)] = (r.value, r.weight)
    return rows


def test_compute_cost_panel_by_hand() -> None:
    frame = costs(
        ("focus", "ml-api", MON, 24, 100, "USD"),
        ("focus", "ml-api", MON + DAY, 24, 10, "EUR"),  # 11 USD
        ("focus", "ml-api", MON + 6 * DAY, 48, 48, "USD"),  # Sunday to Tuesday: 24 in W41, 24 in W42
        ("focus", None, MON, 24, 500, "USD"),  # unallocated: no service's
        ("opencost", "ml-api", MON, 24, 999, "USD"),  # a week with a bill: the estimate is left out
        ("opencost", "ml-api", MON + 14 * DAY, 24, 7, "USD"),  # W43 has no bill: OpenCost counts
        ("generic", "ml-api", MON + 21 * DAY, 24, 5, "USD"),  # W44: the current week, left out
    )
    panel = compute_cost_panel(frame, tz="UTC", currencies=EUR, complete_before=date(2026, 10, 26))
    expected: dict[tuple[str, date], tuple[object, float]] = {
        ("ml-api", date(2026, 10, 5)): (pytest.approx(135.0), 1.0),
        ("ml-api", date(2026, 10, 12)): (pytest.approx(24.0), 1.0),
        ("ml-api", date(2026, 10, 19)): (pytest.approx(7.0), 1.0),
    }
    assert as_dict(panel) == expected
    assert all(type(d) is date for d in panel["week_start"])


def test_weeks_are_iso_weeks_in_the_configured_zone() -> None:
    late_sunday_utc = datetime(2026, 10, 11, 22, 30, tzinfo=UTC)  # Monday 00:30 in Berlin
    frame = costs(("generic", "a", late_sunday_utc, 0.5, 3, "USD"))
    assert list(compute_cost_panel(frame, tz="UTC", currencies=EUR)["week_start"]) == [date(2026, 10, 5)]
    assert list(compute_cost_panel(frame, tz="Europe/Berlin", currencies=EUR)["week_start"]) == [date(2026, 10, 12)]


def test_gpu_utilisation_panel_weights_by_provisioned_hours() -> None:
    frame = measures(
        ("ml-api", "legacy", "gpu_hours_provisioned", 6, MON, 24),
        ("ml-api", "legacy", "gpu_hours_used", 1, MON, 24),
        ("ml-api", "ai-native", "gpu_hours_provisioned", 4, MON + 3 * DAY, 24),  # moved mid-week
        ("ml-api", "ai-native", "gpu_hours_used", 3, MON + 3 * DAY, 24),
        ("batch", None, "gpu_utilisation", 0.2, MON, 1),
        ("batch", None, "gpu_utilisation", 0.6, MON + HOUR, 3),
        ("idle-svc", None, "gpu_hours_provisioned", 0, MON, 24),
        ("ml-api", None, "cpu_utilisation", 0.9, MON, 24),  # not a GPU figure
    )
    panel = as_dict(gpu_utilisation_panel(frame, tz="UTC"))
    assert panel[("ml-api", date(2026, 10, 5))] == pytest.approx((0.4, 10.0))
    assert panel[("batch", date(2026, 10, 5))] == pytest.approx(((0.2 + 1.8) / 4, 4.0))
    value, weight = panel[("idle-svc", date(2026, 10, 5))]
    assert math.isnan(value)
    assert weight == 0.0


def test_cold_start_p95_panel() -> None:
    frame = measures(*[("ml-api", None, "cold_start_seconds", n, MON + n * HOUR, 0) for n in range(1, 21)])
    frame = pd.concat([frame, measures(("ml-api", None, "cold_start_seconds", 99, MON + 7 * DAY, 0))])
    panel = as_dict(cold_start_p95_panel(frame, tz="UTC"))
    expected: dict[tuple[str, date], tuple[object, float]] = {
        ("ml-api", date(2026, 10, 5)): (pytest.approx(19.05), 1.0),
        ("ml-api", date(2026, 10, 12)): (pytest.approx(99.0), 1.0),
    }
    assert panel == expected


def test_empty_inputs_give_empty_panels_with_the_columns() -> None:
    for panel in (
        compute_cost_panel(costs(), tz="UTC", currencies=EUR),
        gpu_utilisation_panel(measures(), tz="UTC"),
        cold_start_p95_panel(measures(), tz="UTC"),
    ):
        assert list(panel.columns) == PANEL_COLUMNS
        assert panel.empty


def test_panels_load_from_the_database(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path)
    events = [
        {
            "type": "cost",
            "id": "c1",
            "service": "ml-api",
            "period_start": iso(MON),
            "period_end": iso(MON + DAY),
            "amount": 12.0,
            "currency": "USD",
        },
        {
            "type": "measurement",
            "id": "p1",
            "service": "ml-api",
            "metric": "gpu_hours_provisioned",
            "value": 8,
            "period_start": iso(MON),
            "period_end": iso(MON + DAY),
        },
        {
            "type": "measurement",
            "id": "u1",
            "service": "ml-api",
            "metric": "gpu_hours_used",
            "value": 2,
            "period_start": iso(MON),
            "period_end": iso(MON + DAY),
        },
        {
            "type": "measurement",
            "id": "s1",
            "service": "ml-api",
            "metric": "cold_start_seconds",
            "value": 4,
            "at": iso(MON + HOUR),
        },
        {
            "type": "cost",
            "id": "c2",
            "service": "ml-api",
            "period_start": iso(MON + 7 * DAY),
            "period_end": iso(MON + 8 * DAY),
            "amount": 5.0,
            "currency": "USD",
        },  # the "current" week below
    ]
    with TestClient(create_app(settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        headers = {"Authorization": f"Bearer {issue_token(settings, 'ci', ['ingest'])}"}
        assert client.post("/webhooks/generic", json=events, headers=headers).status_code == 202
    drain(settings)
    now = MON + 8 * DAY  # Tuesday of W42: W42 is not a week yet
    with session_scope(settings.database_url) as session:
        cost = load_panel(session, settings, "compute_cost", now=now)
        every = load_panels(session, settings, now=now)
    assert as_dict(cost) == {("ml-api", date(2026, 10, 5)): (12.0, 1.0)}
    assert set(every) == set(PANELS) == {"compute_cost", "gpu_utilisation", "cold_start_p95"}
    assert as_dict(every["gpu_utilisation"]) == {("ml-api", date(2026, 10, 5)): (0.25, 8.0)}
    assert as_dict(every["cold_start_p95"]) == {("ml-api", date(2026, 10, 5)): (4.0, 1.0)}
