"""Keeping weekly rollups: dirty (service, week) pairs written with the raw rows, refreshed by a worker;
a full rebuild; and reading them for the weekly endpoint."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import delete, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from service.core.db import fetch_rows, upsert_insert
from service.core.marks import ALL_WEEKS
from service.core.models import RollupDirty, RollupState, Service, WeeklyRollup
from service.core.settings import Settings
from service.core.timeutil import as_utc, utcnow
from service.core.weeks import week_instant
from service.figures.cohort import with_cohort
from service.figures.cost import rollups_db as cost_rollups
from service.figures.filters import Filters, migrated_platforms
from service.figures.metrics import rollup
from service.figures.metrics.service import environments, load
from service.figures.rollup_query import filtered


def _write(session: Session, table: pd.DataFrame, tz: str) -> None:
    records: list[dict[str, Any]] = [
        {
            **{str(k): v for k, v in row.items() if k != "week_start"},
            "week_start": row["week_start"].to_pydatetime(),
            "timezone": tz,
        }
        for row in table.to_dict(orient="records")
    ]
    if records:
        session.connection().execute(WeeklyRollup.__table__.insert(), records)  # type: ignore[attr-defined]


def _compute(
    session: Session, settings: Settings, filters: Filters, start: datetime | None, end: datetime | None
) -> pd.DataFrame:
    frames = load(session, filters, start, end)
    return rollup.rollup(frames, tz=settings.timezone, environments=environments(settings, Filters()))


def rebuild(session: Session, settings: Settings) -> int:
    """Recompute every rollup of the configured time zone from raw rows (commits). Returns rows written."""
    tz = settings.timezone
    session.exec(delete(RollupDirty))
    session.exec(delete(WeeklyRollup).where(col(WeeklyRollup.timezone) == tz))
    table = _compute(session, settings, Filters(), None, None)
    _write(session, table, tz)
    cost_rollups.rebuild(session, settings)
    session.exec(upsert_insert(session, RollupState).values(timezone=tz, built_at=utcnow()).on_conflict_do_nothing())
    session.commit()
    _analyse(session)
    return len(table)


def _analyse(session: Session) -> None:
    """Refresh PostgreSQL's planner statistics of the tables a full rebuild has just replaced.

    Until autovacuum gets to them, the planner sees the old (often empty) tables: on the year-long bench
    data the rollup read then chose a hash plan spilling to temporary files instead of an index scan.
    SQLite keeps no statistics unless asked, so there is nothing to refresh there."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text("ANALYZE weekly_rollup, weekly_cost_rollup"))  # type: ignore[call-overload]
        session.commit()


def refresh(session: Session, settings: Settings, *, limit: int = 500) -> int:
    """Recompute the rollups of dirty (service, week) pairs, one service per transaction (commits each).
    Returns the pairs refreshed.

    Short transactions matter: a worker applying events waits on any mark a refresh holds, so a refresh
    of every service in one transaction stalled ingestion for its whole length under load."""
    tz = settings.timezone
    if session.get(RollupState, tz) is None:
        rebuild(session, settings)
        return 0
    services = session.exec(select(RollupDirty.service).distinct().limit(limit)).all()
    session.commit()
    refreshed = 0
    for service in services:
        refreshed += _refresh_service(session, settings, service)
        session.commit()
    return refreshed


def _refresh_service(session: Session, settings: Settings, service: str) -> int:
    tz = settings.timezone
    marks = select(RollupDirty).where(col(RollupDirty.service) == service).with_for_update(skip_locked=True)
    starts = {as_utc(mark.week_start) for mark in session.exec(marks)}
    if not starts:  # another refresher has them, or a writer is marking them again right now
        return 0
    whole = ALL_WEEKS in starts
    start = None if whole else min(starts)
    end = None if whole else max(starts) + timedelta(weeks=1)
    table = _compute(session, settings, Filters(service=service), start, end)
    wanted = table if whole else table[table["week_start"].isin([pd.Timestamp(s) for s in starts])]
    stale = delete(WeeklyRollup).where(col(WeeklyRollup.timezone) == tz, col(WeeklyRollup.service) == service)
    if not whole:
        stale = stale.where(col(WeeklyRollup.week_start).in_(sorted(starts)))
    session.exec(stale)
    _write(session, wanted, tz)
    cost_rollups.refresh(session, settings, service, starts, whole)
    session.exec(
        delete(RollupDirty).where(col(RollupDirty.service) == service, col(RollupDirty.week_start).in_(sorted(starts)))
    )
    return len(starts)


def read(
    session: Session, settings: Settings, filters: Filters, start: datetime | None, end: datetime | None
) -> pd.DataFrame | None:
    """Rollup rows for whole weeks in [start, end) with team and cohort; None when rollups cannot answer
    (never built for this time zone, or an environment other than production was asked for)."""
    if filters.environment or session.get(RollupState, settings.timezone) is None:
        return None
    table = WeeklyRollup.__table__  # type: ignore[attr-defined]
    columns = rollup.ROLLUP_COLUMNS
    statement: Any = (  # plain columns, not ORM objects: ten thousand rows for a year of 200 services
        sa_select(*(table.c[c] for c in columns), col(Service.team))
        .join(Service, col(Service.slug) == table.c.service)
        .where(table.c.timezone == settings.timezone)
    )
    statement = filtered(statement, table, filters=filters, start=start, end=end, tz=settings.timezone)
    frame = pd.DataFrame(fetch_rows(session, statement), columns=[*columns, "team"])
    frame["week_start"] = pd.to_datetime(frame["week_start"], utc=True)
    targets = migrated_platforms(session)
    return with_cohort(frame, targets)


FRESH_SERVICES_AT_MOST = 25
"""Above this many services with stale rollups in a read, ``read_fresh`` computes the whole read from raw
rows (one pass) rather than service by service."""


def _grouped(session: Session, frame: pd.DataFrame) -> pd.DataFrame:
    """Computed rollup rows with the team and cohort ``read`` gives stored ones."""
    teams = dict(session.exec(select(Service.slug, Service.team)).all())
    targets = migrated_platforms(session)
    return with_cohort(frame.assign(team=frame["service"].map(teams)), targets)


def _computed(
    session: Session, settings: Settings, filters: Filters, start: datetime | None, end: datetime | None
) -> pd.DataFrame:
    frames = load(session, filters, start, end)
    table = rollup.rollup(frames, tz=settings.timezone, environments=environments(settings, filters))
    if start is not None:  # the frames reach back a few days for fix-forwards: not a week of the read
        table = table[table["week_start"] >= pd.Timestamp(week_instant(start, settings.timezone))]
    return _grouped(session, table.reset_index(drop=True))


def read_fresh(
    session: Session, settings: Settings, filters: Filters, start: datetime | None, end: datetime | None
) -> pd.DataFrame:
    """Rollup rows (``read``'s shape) for [start, end) as the raw rows stand now: the stored rows, with every
    service that still has a (service, week) marked for refresh recomputed from its raw rows in memory; all
    computed from raw rows when rollups cannot answer. What reads it (the digest) never lags the writes."""
    stored = read(session, settings, filters, start, end)
    if stored is None:
        return _computed(session, settings, filters, start, end)
    marks = sa_select(RollupDirty.service, RollupDirty.week_start)  # type: ignore[call-overload]
    if filters.service:
        marks = marks.where(col(RollupDirty.service) == filters.service)
    elif filters.team:
        marks = marks.join(Service, col(Service.slug) == col(RollupDirty.service)).where(Service.team == filters.team)
    stale: set[str] = set()
    for service, week in session.exec(marks).all():
        moment = as_utc(week)
        inside = moment == ALL_WEEKS or (
            (start is None or moment >= week_instant(start, settings.timezone)) and (end is None or moment < end)
        )
        if inside:
            stale.add(service)
    if not stale:
        return stored
    if len(stale) > FRESH_SERVICES_AT_MOST:
        return _computed(session, settings, filters, start, end)
    fresh = [
        _computed(session, settings, Filters(service=name, platform=filters.platform), start, end)
        for name in sorted(stale)
    ]
    kept = stored[~stored["service"].isin(stale)]
    return pd.concat([kept, *fresh], ignore_index=True)
