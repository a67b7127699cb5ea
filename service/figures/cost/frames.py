"""Reads for the cost figures: cost lines and measurements as DataFrames with the grouping columns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session, col

from service.core.models import Service
from service.core.models.cost import CostLine, Measurement
from service.figures.cohort import with_cohort
from service.figures.filters import Filters, migrated_platforms

COST_FRAME = ["source", "service", "team", "platform", "category", "period_start", "period_end", "amount", "currency"]
MEASUREMENT_FRAME = ["service", "team", "platform", "metric", "value", "unit", "period_start", "period_end"]


def _scoped(
    statement: Any, model: Any, filters: Filters, start: datetime | None, end: datetime | None, unallocated: bool
) -> Any:
    statement = statement.outerjoin(Service, col(Service.slug) == model.service)
    if unallocated:
        statement = statement.where(model.service.is_(None))
    if filters.service:
        statement = statement.where(model.service == filters.service)
    if filters.team:
        statement = statement.where(col(Service.team) == filters.team)
    if filters.platform:
        statement = statement.where(model.platform == filters.platform)
    if start is not None:
        statement = statement.where(model.period_end >= start)
    if end is not None:
        statement = statement.where(model.period_start < end)
    return statement


def _frame(session: Session, statement: Any, columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame([tuple(row) for row in session.exec(statement).all()], columns=columns)
    for name in ("period_start", "period_end"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    targets = migrated_platforms(session)
    return with_cohort(frame, targets)


def cost_frame(
    session: Session,
    filters: Filters,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    unallocated: bool = False,
) -> pd.DataFrame:
    """Cost lines whose period overlaps [start, end); ``unallocated`` keeps only those with no service."""
    table = CostLine.__table__  # type: ignore[attr-defined]
    names = [c for c in COST_FRAME if c != "team"]
    statement = select(*(table.c[c] for c in names[:2]), col(Service.team), *(table.c[c] for c in names[2:]))
    frame = _frame(session, _scoped(statement, table.c, filters, start, end, unallocated), COST_FRAME)
    frame["amount"] = frame["amount"].astype(float)
    return frame


def measurement_frame(
    session: Session,
    filters: Filters,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    metrics: list[str] | None = None,
    unallocated: bool = False,
) -> pd.DataFrame:
    table = Measurement.__table__  # type: ignore[attr-defined]
    names = [c for c in MEASUREMENT_FRAME if c != "team"]
    statement = select(table.c.service, col(Service.team), *(table.c[c] for c in names[1:]))
    if metrics is not None:
        statement = statement.where(table.c.metric.in_(metrics))
    frame = _frame(session, _scoped(statement, table.c, filters, start, end, unallocated), MEASUREMENT_FRAME)
    frame["value"] = frame["value"].astype(float)
    return frame


FOCUS_DETAIL_FRAME = ["service", "platform", "resource", "details", "amount", "currency", "period_start", "period_end"]


def focus_detail_frame(
    session: Session, filters: Filters, start: datetime | None = None, end: datetime | None = None
) -> pd.DataFrame:
    """FOCUS cost lines overlapping [start, end) with their ServiceName (``resource``) and ``details``: what
    the GPU rule (``service.figures.cost.gpu``) reads."""
    table = CostLine.__table__  # type: ignore[attr-defined]
    statement = select(*(table.c[c] for c in FOCUS_DETAIL_FRAME)).where(table.c.source == "focus")
    statement = _scoped(statement, table.c, filters, start, end, unallocated=False)
    frame = pd.DataFrame([tuple(row) for row in session.exec(statement).all()], columns=FOCUS_DETAIL_FRAME)
    for name in ("period_start", "period_end"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    frame["amount"] = frame["amount"].astype(float)
    return frame
