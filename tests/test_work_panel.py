"""Per-service weekly panels: the exact shape the effects estimator takes, complete weeks only, in the
configured time zone, counts with zeros and means with NaN where nothing happened."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.core.vocab import PANEL_COLUMNS
from service.core.weeks import complete_weeks, week_start
from service.figures.work.panel import (
    app_incidents_panel,
    infra_incidents_panel,
    support_tickets_panel,
    time_to_ship_panel,
)

MONDAY = datetime(2026, 10, 5, tzinfo=UTC)  # ISO week 2026-W41
DAY = timedelta(days=1)


def _sample(
    service: str, shipped: datetime, days: float, *, basis: str = "shipped", kind: str = "feature"
) -> dict[str, object]:
    return {
        "source": "jira",
        "key": f"K-{service}-{days}",
        "kind": kind,
        "service": service,
        "started_at": shipped - timedelta(days=days),
        "shipped_at": shipped if basis == "shipped" else pd.NaT,
        "done_at": shipped,
        "days": days,
        "basis": basis,
    }


def test_only_complete_weeks_count() -> None:
    # Starts on a Wednesday and ends mid-week: neither partial week is a week.
    weeks = complete_weeks(MONDAY + 2 * DAY, MONDAY + 23 * DAY, "UTC")
    assert weeks == [date(2026, 10, 12), date(2026, 10, 19)]
    # In New York, Monday 00:00 is 04:00 UTC: a window from Monday 04:01 UTC misses that week, and one
    # ending at 04:00 UTC two weeks on still holds the next week whole.
    new_york = complete_weeks(
        MONDAY + timedelta(hours=4, minutes=1), MONDAY + 14 * DAY + timedelta(hours=4), "America/New_York"
    )
    assert new_york == [date(2026, 10, 12)]
    assert complete_weeks(MONDAY, MONDAY + 14 * DAY, "America/New_York") == [date(2026, 10, 5)]


def test_time_to_ship_panel_means_and_weights() -> None:
    samples = pd.DataFrame(
        [
            _sample("api", MONDAY + DAY, 10.0),
            _sample("api", MONDAY + 3 * DAY, 20.0),
            _sample("api", MONDAY + 8 * DAY, 4.0),
            _sample("api", MONDAY + 9 * DAY, 99.0, basis="done_fallback"),
            _sample("web", MONDAY + 2 * DAY, 30.0, kind="bug"),  # bugs are not features
        ]
    )
    panel = time_to_ship_panel(samples, tz="UTC", start=MONDAY, end=MONDAY + 14 * DAY, services=["api", "web"])

    assert list(panel.columns) == PANEL_COLUMNS
    rows = {(r["service"], r["week_start"]): (r["value"], r["weight"]) for r in panel.to_dict("records")}
    assert rows[("api", date(2026, 10, 5))] == (15.0, 2.0)
    assert rows[("api", date(2026, 10, 12))] == (4.0, 1.0)  # the fallback is left out
    value, weight = rows[("web", date(2026, 10, 5))]
    assert math.isnan(value)
    assert weight == 0.0
    assert all(isinstance(week, date) for week in panel["week_start"])
    assert panel["value"].dtype == float
    assert panel["weight"].dtype == float
    with_fallback = time_to_ship_panel(
        samples, tz="UTC", start=MONDAY, end=MONDAY + 14 * DAY, services=["api"], include_fallback=True
    )
    assert list(with_fallback["value"]) == [15.0, 51.5]


def test_count_panels_have_zeros_and_keep_categories_apart() -> None:
    incidents = pd.DataFrame(
        {
            "service": ["api", "api", "api", "web"],
            "started_at": [MONDAY + DAY, MONDAY + 2 * DAY, MONDAY + 8 * DAY, MONDAY + DAY],
            "category": ["infrastructure", "infrastructure", "application", "unknown"],
        }
    )
    end = MONDAY + 14 * DAY
    infra = infra_incidents_panel(incidents, tz="UTC", start=MONDAY, end=end)
    app = app_incidents_panel(incidents, tz="UTC", start=MONDAY, end=end)

    assert infra[["service", "value"]].to_records(index=False).tolist() == [
        ("api", 2.0),
        ("api", 0.0),
        ("web", 0.0),
        ("web", 0.0),
    ]
    assert list(app["value"]) == [0.0, 1.0, 0.0, 0.0]
    assert set(infra["weight"]) == {1.0}


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin"])
def test_support_tickets_panel_counts_by_local_week(tz: str) -> None:
    # Sunday 23:30 UTC is Monday 00:30 in Berlin: the next week there.
    late_sunday = MONDAY + 6 * DAY + timedelta(hours=23, minutes=30)
    tickets = pd.DataFrame({"service": ["ml-api"], "opened_at": [late_sunday]})
    panel = support_tickets_panel(tickets, tz=tz, start=MONDAY - 7 * DAY, end=MONDAY + 21 * DAY)
    opened = dict(zip(panel["week_start"], panel["value"], strict=True))
    expected_week = date(2026, 10, 5) if tz == "UTC" else date(2026, 10, 12)
    assert opened[expected_week] == 1.0
    assert sum(opened.values()) == 1.0


services = st.sampled_from(["api", "web", "ml-api"])
offsets = st.floats(min_value=-10, max_value=40, allow_nan=False)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(services, offsets, st.floats(0, 90, allow_nan=False)), max_size=30),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
)
def test_panels_cover_every_service_week_once_and_count_what_is_inside(
    rows: list[tuple[str, float, float]], tz: str
) -> None:
    start, end = MONDAY, MONDAY + 28 * DAY
    samples = pd.DataFrame(
        [_sample(service, MONDAY + timedelta(days=offset), days) for service, offset, days in rows],
        columns=list(_sample("x", MONDAY, 1.0)),
    )
    panel = time_to_ship_panel(samples, tz=tz, start=start, end=end, services=["api", "web", "ml-api"])
    weeks = complete_weeks(start, end, tz)
    zone = ZoneInfo(tz)
    inside = [r for r in rows if week_start(MONDAY + timedelta(days=r[1]), zone) in weeks]

    assert len(panel) == 3 * len(weeks)
    assert not panel.duplicated(["service", "week_start"]).any()
    assert panel["weight"].sum() == len(inside)
    assert (panel["weight"] >= 0).all()
    assert panel["value"].isna().eq(panel["weight"] == 0).all()
    weighted = (panel["value"].fillna(0) * panel["weight"]).sum()
    assert math.isclose(weighted, sum(days for _, _, days in inside), rel_tol=1e-9, abs_tol=1e-9)

    opened = pd.DataFrame({"service": [r[0] for r in rows], "opened_at": [MONDAY + timedelta(days=r[1]) for r in rows]})
    counts = support_tickets_panel(opened, tz=tz, start=start, end=end, services=["api", "web", "ml-api"])
    assert counts["value"].sum() == len(inside)
    assert set(counts["weight"]) <= {1.0}
