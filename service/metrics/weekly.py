"""The weekly table: from rollups when they exist for this time zone, else recomputed from raw rows.

Both give the same figures (tests/test_rollups.py); rollups only change the cost.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlmodel import Session

from service.metrics import compute, rollup, rollups_db
from service.metrics.service import Filters, deployments_frame, environments, incidents_frame, load, shipped_frame
from service.settings import Settings
from service.timeutil import utcnow


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
    table["low_sample"] = table["completed_deployments"] < settings.min_sample
    current = compute.week_label(pd.Series([pd.Timestamp(utcnow())]), settings.timezone).iloc[0]
    table["week_so_far"] = table["week"] == current
    """The current week is not over: its figures are for the week so far, never a whole week."""
    return table


WARNINGS_OVER = timedelta(weeks=4)
"""Warnings cover the last four weeks of a weekly table's window: their cost stays that of four weeks
however long the window (reading a year of raw rows for them would undo what the rollups save)."""


def warnings_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    return max(start, end - WARNINGS_OVER), end


def weekly_warnings(
    session: Session, settings: Settings, *, filters: Filters | None = None, start: datetime, end: datetime
) -> list[dict[str, object]]:
    """The data-quality warnings (``compute.data_quality``) over ``start``–``end`` (``warnings_window`` of
    the table's), so they travel with its figures into JSON and CSV."""
    filters = filters or Filters()
    deployments = deployments_frame(session, filters, start, end)
    deployments = deployments[_inside(deployments["finished_at"], start, end)]
    return compute.data_quality(
        deployments,
        shipped_frame(session, filters, start, end),
        incidents_frame(session, filters, start, end),
        environments=environments(settings, filters),
    )


def warnings_cell(warnings: list[dict[str, object]]) -> str:
    """One CSV cell for every row: ``incidents_unlinked: 3; deployments_without_commits: 12`` (the last four
    weeks of the window)."""
    return "; ".join(f"{w['code']}: {w['count']}" for w in warnings)


def _inside(moments: pd.Series, start: datetime | None, end: datetime | None) -> pd.Series:
    mask = pd.Series(True, index=moments.index)
    if start is not None:
        mask &= moments >= pd.Timestamp(start)
    if end is not None:
        mask &= moments < pd.Timestamp(end)
    return mask
