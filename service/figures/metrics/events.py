"""The events behind a figure, a page at a time: deployments, incidents or friction reports in a window, for
a team or a service, newest first — the newest ``limit`` rows and how many there are in all, in two small
queries (an index range, a LIMIT and a COUNT), never the whole window loaded to show its first rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from service.core.models import Deployment, FrictionReport, Incident, Service
from service.figures.filters import Filters


@dataclass(frozen=True, slots=True)
class Kind:
    title: str
    model: Any
    moment: str
    """The time that places a row in a week."""
    columns: tuple[str, ...]
    outer: bool = False
    """Rows without a catalogued service count too (friction reports)."""


KINDS: dict[str, Kind] = {
    "deployments": Kind(
        "Deployments",
        Deployment,
        "finished_at",
        ("id", "service", "team", "environment", "status", "finished_at", "platform", "is_rollback"),
    ),
    "incidents": Kind(
        "Incidents",
        Incident,
        "started_at",
        ("id", "service", "team", "severity", "category", "started_at", "resolved_at", "platform"),
    ),
    "friction": Kind(
        "Friction reports",
        FrictionReport,
        "created_at",
        ("id", "service", "team", "created_at", "category", "minutes_lost", "status", "text"),
        outer=True,
    ),
}


def _statement(kind: Kind, fields: Sequence[Any], filters: Filters, start: datetime, end: datetime) -> Any:
    model, moment = kind.model, getattr(kind.model, kind.moment)
    join = col(Service.slug) == col(model.service)
    statement = select(*fields).select_from(model)
    statement = statement.outerjoin(Service, join) if kind.outer else statement.join(Service, join)
    statement = statement.where(col(moment) >= start, col(moment) < end)
    if kind.outer:
        statement = statement.where(col(FrictionReport.duplicate_of).is_(None))
    if filters.service:
        statement = statement.where(col(model.service) == filters.service)
    if filters.team:
        statement = statement.where(col(Service.team) == filters.team)
    return statement


def rows(
    session: Session, kind: Kind, filters: Filters, start: datetime, end: datetime, *, limit: int | None
) -> tuple[pd.DataFrame, int]:
    """(the newest ``limit`` rows, newest first — every row with ``limit`` None —, how many in all)."""
    fields = [col(Service.team) if c == "team" else col(getattr(kind.model, c)) for c in kind.columns]
    moment = getattr(kind.model, kind.moment)
    statement = _statement(kind, fields, filters, start, end).order_by(col(moment).desc(), col(kind.model.id).desc())
    if limit is not None:
        statement = statement.limit(limit)
    frame = pd.DataFrame([tuple(r) for r in session.exec(statement).all()], columns=list(kind.columns))
    if limit is None or len(frame) < limit:
        return frame, len(frame)
    count = _statement(kind, [func.count()], filters, start, end)
    return frame, int(session.exec(count).one())
