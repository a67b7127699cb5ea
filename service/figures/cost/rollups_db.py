"""Keeping the weekly cost rollups: refreshed with the DORA rollups (the same dirty (service, week) marks,
in the same transaction), rebuilt with them, and read for the weekly endpoint.

Unallocated spend (no service) is marked ``UNALLOCATED_MARK`` and stored as service ``""``. Amounts are
converted to the reporting currency when a row is computed, so a changed FRICTIONLOG_CURRENCY_RATES or
FRICTIONLOG_REPORTING_CURRENCY needs ``frictionlog rollups rebuild`` (as a changed time zone does).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Text, cast, delete
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from service.core.db import fetch_rows
from service.core.models import RollupState, Service
from service.core.models.cost import WeeklyCostRollup
from service.core.settings import Settings
from service.core.weeks import week_instant
from service.figures.cohort import with_cohort
from service.figures.cost import gpu, rollup
from service.figures.cost.currency import Currencies
from service.figures.cost.frames import cost_frame, focus_detail_frame, measurement_frame
from service.figures.filters import Filters, migrated_platforms
from service.figures.rollup_query import filtered

UNALLOCATED_MARK = "__unallocated__"
"""The dirty mark of spend with no service (a name no service can have: it is not a valid slug start)."""
WEEK = timedelta(weeks=1)


def mark_of(service: str | None) -> str:
    return service or UNALLOCATED_MARK


def spanned(start: datetime, end: datetime) -> Iterator[datetime]:
    """An instant in every week [start, end) touches (the instant itself when start = end)."""
    yield start
    moment = start + WEEK
    while moment < end:
        yield moment
        moment += WEEK
    if end > start:
        yield end - timedelta(microseconds=1)


def dirty_pairs(spans: Iterable[tuple[str | None, datetime, datetime]]) -> list[tuple[str, datetime]]:
    """(mark, instant) pairs for ``service.core.marks.mark_dirty``: every week of every span."""
    return [(mark_of(service), moment) for service, start, end in spans for moment in spanned(start, end)]


def compute_rows(
    session: Session,
    settings: Settings,
    *,
    filters: Filters | None = None,
    unallocated: bool = False,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """Rollup rows from the raw lines for whole weeks from ``start``'s week up to ``end``."""
    filters = filters or Filters()
    low = week_instant(start, settings.timezone) if start is not None else None
    costs = cost_frame(session, filters, low, end, unallocated=unallocated)
    measures = measurement_frame(session, filters, low, end, unallocated=unallocated)
    rows = rollup.cost_rollup(costs, measures, tz=settings.timezone, currencies=Currencies.from_settings(settings))
    if rows.empty:
        return rows
    inside = pd.Series(True, index=rows.index)
    if low is not None:
        inside &= rows["week_start"] >= pd.Timestamp(low)
    if end is not None:
        inside &= rows["week_start"] < pd.Timestamp(end)
    return rows[inside].reset_index(drop=True)


def _write(session: Session, rows: pd.DataFrame, tz: str) -> None:
    records: list[dict[str, Any]] = []
    for row in rows.to_dict(orient="records"):
        record = {str(k): (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        record["week_start"] = row["week_start"].to_pydatetime()
        record["timezone"] = tz
        records.append(record)
    if records:
        session.connection().execute(WeeklyCostRollup.__table__.insert(), records)  # type: ignore[attr-defined]


def rebuild(session: Session, settings: Settings) -> int:
    """Recompute every cost rollup of the configured time zone (the caller commits). Returns rows written."""
    session.exec(delete(WeeklyCostRollup).where(col(WeeklyCostRollup.timezone) == settings.timezone))
    rows = compute_rows(session, settings)
    _write(session, rows, settings.timezone)
    return len(rows)


def refresh(session: Session, settings: Settings, mark: str, starts: set[datetime], whole: bool) -> None:
    """Recompute one dirty mark's weeks (``whole``: all of them), in the caller's transaction."""
    tz = settings.timezone
    unallocated = mark == UNALLOCATED_MARK
    filters = Filters() if unallocated else Filters(service=mark)
    start = None if whole else min(starts)
    end = None if whole else max(starts) + WEEK
    rows = compute_rows(session, settings, filters=filters, unallocated=unallocated, start=start, end=end)
    if not whole and not rows.empty:
        rows = rows[rows["week_start"].isin([pd.Timestamp(s) for s in starts])]
    stale = delete(WeeklyCostRollup).where(
        col(WeeklyCostRollup.timezone) == tz, col(WeeklyCostRollup.service) == ("" if unallocated else mark)
    )
    if not whole:
        stale = stale.where(col(WeeklyCostRollup.week_start).in_(sorted(starts)))
    session.exec(stale)
    _write(session, rows, tz)


def read(
    session: Session, settings: Settings, filters: Filters, start: datetime | None, end: datetime | None
) -> pd.DataFrame | None:
    """Stored rows (with team and cohort) for whole weeks in [start, end); None when rollups were never
    built for this time zone."""
    if session.get(RollupState, settings.timezone) is None:
        return None
    table = WeeklyCostRollup.__table__  # type: ignore[attr-defined]
    columns = rollup.COST_ROLLUP_COLUMNS
    selected = [cast(table.c[c], Text) if c == "cold_start_seconds" else table.c[c] for c in columns]
    statement: Any = (
        sa_select(*selected, col(Service.team))
        .outerjoin(Service, col(Service.slug) == table.c.service)
        .where(table.c.timezone == settings.timezone)
    )
    statement = filtered(statement, table, filters=filters, start=start, end=end, tz=settings.timezone)
    frame = pd.DataFrame(fetch_rows(session, statement), columns=[*columns, "team"])
    frame["week_start"] = pd.to_datetime(frame["week_start"], utc=True)
    frame["cold_start_seconds"] = frame["cold_start_seconds"].map(_samples)
    for name in rollup.SUMS:
        frame[name] = frame[name].astype(float)
    targets = migrated_platforms(session)
    return with_cohort(frame, targets)


def rows_for(
    session: Session, settings: Settings, filters: Filters, start: datetime | None, end: datetime | None
) -> pd.DataFrame:
    """Rollup rows with team and cohort: stored when rollups exist, else computed from raw lines (the same
    whole weeks, the same figures)."""
    stored = read(session, settings, filters, start, end)
    if stored is None:
        rows = compute_rows(session, settings, filters=filters, start=start, end=end)
        teams = dict(session.exec(select(Service.slug, Service.team)).all())
        stored = rollup.with_groups(rows, teams, migrated_platforms(session))
    return with_focus_gpu(session, settings, stored, filters, start, end)


def with_focus_gpu(
    session: Session,
    settings: Settings,
    rows: pd.DataFrame,
    filters: Filters,
    start: datetime | None,
    end: datetime | None,
) -> pd.DataFrame:
    """The rows with ``focus_gpu_cost``: the FOCUS GPU spend of each (week, service, platform) by the GPU
    rule as configured now (``service.figures.cost.gpu``), read with the rows, never stored in them."""
    lines = focus_detail_frame(session, filters, start, end)
    weekly = gpu.focus_gpu_weekly(
        lines, gpu.GpuRule.from_settings(settings), tz=settings.timezone, currencies=Currencies.from_settings(settings)
    )
    return gpu.with_focus_gpu(rows, weekly)


def _samples(text: str | list[float]) -> list[float]:
    if isinstance(text, list):
        return text
    inner = text.strip()[1:-1]
    return [float(v) for v in inner.split(",")] if inner.strip() else []
