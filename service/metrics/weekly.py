"""The weekly table: from rollups when they exist for this time zone, else recomputed from raw rows.

Both give the same figures (tests/test_rollups.py); rollups only change the cost.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlmodel import Session

from service.cost import compute as cost_compute
from service.cost.currency import Currencies
from service.cost.frames import cost_frame, measurement_frame
from service.metrics import compute, rollup, rollups_db
from service.metrics.service import Filters, environments, load
from service.settings import Settings


def weekly_metrics(
    session: Session,
    settings: Settings,
    *,
    group_by: str = "platform",
    filters: Filters | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    filters = filters or Filters()
    rows = rollups_db.read(session, settings, filters, start, end)
    if rows is not None:
        table = rollup.weekly_from_rollups(rows, group_by=group_by)
    else:
        frames = load(session, filters, start, end)
        table = compute.weekly(
            frames.deployments[_inside(frames.deployments["finished_at"], start, end)],
            frames.lead_times,
            frames.incidents,
            frames.friction,
            tz=settings.timezone,
            environments=environments(settings, filters),
            group_by=group_by,
        )
    cost = cost_compute.cost_weekly(
        _clip(cost_frame(session, filters, start, end), start, end),
        _clip(measurement_frame(session, filters, start, end), start, end),
        tz=settings.timezone,
        group_by=group_by,
        currencies=Currencies.from_settings(settings),
    )
    table = cost_compute.with_cost(table, cost)
    table["low_sample"] = table["completed_deployments"] < settings.min_sample
    return table


def _clip(frame: pd.DataFrame, start: datetime | None, end: datetime | None) -> pd.DataFrame:
    """Periods cut to [start, end), amounts prorated: a line straddling the window counts only inside it."""
    if frame.empty or (start is None and end is None):
        return frame
    low = pd.Timestamp(start) if start is not None else frame["period_start"].min()
    high = pd.Timestamp(end) if end is not None else frame["period_end"].max()
    begin = frame["period_start"].where(frame["period_start"] > low, low)
    stop = frame["period_end"].where(frame["period_end"] < high, high)
    keep = (stop > begin) | ((frame["period_start"] == frame["period_end"]) & (begin >= low) & (begin < high))
    span = (frame["period_end"] - frame["period_start"]).dt.total_seconds()
    share = ((stop - begin).dt.total_seconds() / span.where(span > 0)).fillna(1.0)
    clipped = frame.assign(period_start=begin, period_end=stop.where(span > 0, begin))
    column = "amount" if "amount" in clipped else "value"
    split = cost_compute.prorated(clipped, column)
    clipped[column] = clipped[column].where(~split, clipped[column] * share)
    return clipped[keep]


def _inside(moments: pd.Series, start: datetime | None, end: datetime | None) -> pd.Series:
    mask = pd.Series(True, index=moments.index)
    if start is not None:
        mask &= moments >= pd.Timestamp(start)
    if end is not None:
        mask &= moments < pd.Timestamp(end)
    return mask
