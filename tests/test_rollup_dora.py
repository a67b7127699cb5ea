"""``dora.from_rollups`` gives, for any window of whole weeks, the figures ``dora.dora`` gives from raw rows:
the digest's headline and cohorts read rollups, and must not say anything the raw rows would not."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from service.figures.metrics import dora, rollup
from service.figures.metrics.compute import Frames
from tests.random_frames import START, random_frames

PROD = frozenset({"production"})
KEYS = {
    "deployment_frequency": ("deployments", "per_week", "deploy_days", "band", "low_sample"),
    "lead_time": ("median_seconds", "p90_seconds", "n", "band", "low_sample"),
    "change_failure_rate": ("rate", "failed", "deployments", "band", "low_sample"),
    "time_to_restore": ("median_seconds", "n", "band", "low_sample"),
    "incidents": ("count",),
}


def _rows(tz: str, seed: int) -> tuple[pd.DataFrame, tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]:
    d, lead, inc, fr = random_frames(seed)
    return rollup.rollup(Frames(d, lead, inc, fr), tz=tz, environments=PROD), (d, lead, inc)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("tz", ["UTC", "America/Los_Angeles"])
@pytest.mark.parametrize(("first", "weeks"), [(1, 1), (1, 4), (1, 5), (3, 2)])
@pytest.mark.parametrize("min_sample", [1, 40])
def test_whole_weeks_from_rollups_equal_the_raw_figures(
    seed: int, tz: str, first: int, weeks: int, min_sample: int
) -> None:
    rows, (d, lead, inc) = _rows(tz, seed)
    monday = pd.Timestamp(START).tz_convert(tz).normalize()
    monday = monday - pd.Timedelta(days=monday.day_of_week) + pd.Timedelta(weeks=first)
    start, end = monday.to_pydatetime(), (monday + pd.Timedelta(weeks=weeks)).to_pydatetime()
    raw = dora.dora(
        d,
        lead,
        inc,
        window=dora.Window(start, end),
        environments=PROD,
        tz=tz,
        min_sample=min_sample,
        follow_up=timedelta(hours=24),
    )
    inside = rows[(rows["week_start"] >= pd.Timestamp(start)) & (rows["week_start"] < pd.Timestamp(end))]
    assert not inside.empty  # the window holds data, so the comparison says something
    from_rollups = dora.from_rollups(inside, weeks=weeks, min_sample=min_sample)
    for key, fields in KEYS.items():
        for name in fields:
            expected, got = raw[key][name], from_rollups[key][name]
            if isinstance(expected, float):
                assert got == pytest.approx(expected, rel=1e-9), (key, name)
            else:
                assert got == expected, (key, name)


def test_no_rows_is_no_data_not_zeros() -> None:
    rows, _ = _rows("UTC", 1)
    empty = dora.from_rollups(rows.iloc[0:0], weeks=1, min_sample=1)
    assert empty["lead_time"]["median_seconds"] is None
    assert empty["change_failure_rate"]["rate"] is None
    assert empty["deployment_frequency"]["deployments"] == 0
    assert empty["deployment_frequency"]["low_sample"] is True
