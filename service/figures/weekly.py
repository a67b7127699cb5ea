"""The weekly table: from rollups when they exist for this time zone, else recomputed from raw rows.

Both give the same figures (tests/test_rollups.py); rollups only change the cost.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlmodel import Session

from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.weeks import week_label
from service.figures import rollups_db
from service.figures.cost import compute as cost_compute
from service.figures.cost import rollup as cost_rollup
from service.figures.cost import rollups_db as cost_rollups
from service.figures.filters import Filters
from service.figures.metrics import compute, rollup
from service.figures.metrics.service import deployments_frame, environments, incidents_frame, load, shipped_frame
from service.figures.work.weekly import COUNTS, load_weekly_work


def weekly_metrics(
    session: Session,
    settings: Settings,
    *,
    group_by: str = "platform",
    filters: Filters | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    work: bool = True,
) -> pd.DataFrame:
    """``work=False`` leaves out the work-item columns (time to ship, support tickets, incidents by
    category) for a reader that shows none of them: they are read from raw work items, the costliest part."""
    filters = filters or Filters()
    table = _dora_weekly(session, settings, (group_by,), filters=filters, start=start, end=end)[group_by]
    cost_rows = cost_rollups.rows_for(session, settings, filters, start, end)
    cost = cost_rollup.weekly_from_cost_rollups(cost_rows, group_by=group_by)
    table = cost_compute.with_cost(table, cost)
    if work:
        table = _with_work(table, session, settings, group_by=group_by, filters=filters, start=start, end=end)
    table["low_sample"] = table["completed_deployments"] < settings.min_sample
    current = week_label(pd.Series([pd.Timestamp(utcnow())]), settings.timezone).iloc[0]
    table["week_so_far"] = table["week"] == current
    """The current week is not over: its figures are for the week so far, never a whole week."""
    return table


def _dora_weekly(
    session: Session,
    settings: Settings,
    groups: tuple[str, ...],
    *,
    filters: Filters,
    start: datetime | None,
    end: datetime | None,
) -> dict[str, pd.DataFrame]:
    """The weekly DORA table for each grouping in ``groups``, from one read (rollups, else raw rows)."""
    rows = rollups_db.read(session, settings, filters, start, end)
    if rows is not None:
        return {g: rollup.weekly_from_rollups(rows.assign(all=ALL), group_by=g) for g in groups}
    frames = load(session, filters, start, end)
    deployments = frames.deployments[_inside(frames.deployments["finished_at"], start, end)]
    return {
        g: compute.weekly(
            compute.Frames(
                deployments.assign(all=ALL),
                frames.lead_times,
                frames.incidents.assign(all=ALL),
                frames.friction.assign(all=ALL),
            ),
            tz=settings.timezone,
            environments=environments(settings, filters),
            group_by=g,
        )
        for g in groups
    }


ALL = "all"
"""The grouping (and the group) of the whole organisation: every service, platform and unallocated spend."""
COST_GROUPS = (ALL, "platform", "team", "service")


def cost_allocation(session: Session, settings: Settings, *, start: datetime, end: datetime) -> dict[str, pd.DataFrame]:
    """The cost page's weekly figures (cost, unallocated share, idle GPU cost, cost per deployment, ...:
    ``service.figures.cost.compute``'s definitions) for each grouping of COST_GROUPS, the whole
    organisation (``all``) first: one read of the cost rollups and one of the DORA rollups for them all."""
    filters = Filters()
    dora = _dora_weekly(session, settings, COST_GROUPS, filters=filters, start=start, end=end)
    cost_rows = cost_rollups.rows_for(session, settings, filters, start, end).assign(all=ALL)
    return {
        g: cost_compute.with_cost(dora[g], cost_rollup.weekly_from_cost_rollups(cost_rows, group_by=g))
        for g in COST_GROUPS
    }


def _with_work(
    table: pd.DataFrame,
    session: Session,
    settings: Settings,
    *,
    group_by: str,
    filters: Filters,
    start: datetime | None,
    end: datetime | None,
) -> pd.DataFrame:
    """Time to ship, support tickets and incidents by category beside the DORA columns (issue 15); a week
    with only work-item rows gets zeros in the DORA counts."""
    work = load_weekly_work(
        session,
        tz=settings.timezone,
        group_by=group_by,
        environments=environments(settings, filters),
        filters=filters,
        start=start,
        end=end,
    )
    merged = table.merge(work, on=["week", "group"], how="outer")
    counts = ["deployments", "deploy_days", "lead_time_n", "failed_deployments", "completed_deployments", "restore_n"]
    counts += ["incidents", "friction", "friction_minutes_lost", *COUNTS]
    merged[counts] = merged[counts].fillna(0).astype(int)
    return merged.sort_values(["week", "group"]).reset_index(drop=True)


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
