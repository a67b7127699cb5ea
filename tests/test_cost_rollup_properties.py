"""Stored cost rollups are refreshed one service (or the unallocated mark) at a time: the figures of rows
computed service by service equal the figures computed from all lines at once, on random data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from service.figures.cost import rollup
from service.figures.cost.currency import Currencies
from service.figures.cost.rollup import cost_weekly

START = datetime(2026, 9, 28, tzinfo=UTC)
SERVICES = st.sampled_from([None, "a", "b", "c"])
PLATFORMS = st.sampled_from([None, "legacy", "new"])
CURRENCIES = Currencies(reporting="USD", rates={"EUR": 1.1})

cost_line = st.fixed_dictionaries(
    {
        "source": st.sampled_from(["focus", "generic", "opencost"]),
        "service": SERVICES,
        "platform": PLATFORMS,
        "category": st.sampled_from([None, "gpu", "Usage"]),
        "start": st.integers(0, 24 * 30),
        "hours": st.integers(0, 24 * 10),
        "amount": st.floats(-50, 500, allow_nan=False),
        "currency": st.sampled_from(["USD", "EUR"]),
    }
)
measurement = st.fixed_dictionaries(
    {
        "service": SERVICES,
        "platform": PLATFORMS,
        "metric": st.sampled_from(
            ["gpu_hours_provisioned", "gpu_hours_used", "gpu_utilisation", "cpu_utilisation", "cold_start_seconds"]
        ),
        "start": st.integers(0, 24 * 30),
        "hours": st.integers(0, 72),
        "value": st.floats(0, 50, allow_nan=False),
    }
)


def frame(rows: list[dict[str, object]], kind: str) -> pd.DataFrame:
    out = []
    for row in rows:
        start = START + timedelta(hours=int(row.pop("start")))  # type: ignore[call-overload]
        end = start + timedelta(hours=int(row.pop("hours")))  # type: ignore[call-overload]
        out.append({**row, "period_start": start, "period_end": end, "team": None, "cohort": "not_migrated"})
    columns = (
        ["source", "service", "platform", "category", "amount", "currency"]
        if kind == "cost"
        else ["service", "platform", "metric", "value"]
    )
    result = pd.DataFrame(out, columns=[*columns, "period_start", "period_end", "team", "cohort"])
    for name in ("period_start", "period_end"):
        result[name] = pd.to_datetime(result[name], utc=True)
    if kind == "measurement":
        result["unit"] = None
    return result


@settings(max_examples=30, deadline=None)
@given(st.lists(cost_line, max_size=25), st.lists(measurement, max_size=25), st.sampled_from(["UTC", "Europe/Berlin"]))
def test_rows_per_service_give_the_figures_of_all_rows(
    lines: list[dict[str, object]], measures: list[dict[str, object]], tz: str
) -> None:
    costs, values = frame(lines, "cost"), frame(measures, "measurement")
    parts = []
    for service in [None, "a", "b", "c"]:
        keep_c = costs["service"].isna() if service is None else costs["service"] == service
        keep_m = values["service"].isna() if service is None else values["service"] == service
        parts.append(rollup.cost_rollup(costs[keep_c], values[keep_m], tz=tz, currencies=CURRENCIES))
    stored = (
        pd.concat([p for p in parts if not p.empty], ignore_index=True) if any(not p.empty for p in parts) else parts[0]
    )
    for group_by in ("service", "platform"):
        expected = cost_weekly(costs, values, tz=tz, group_by=group_by, currencies=CURRENCIES)
        got = rollup.weekly_from_cost_rollups(rollup.with_groups(stored, {}, set()), group_by=group_by)
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False, atol=1e-9
        )
