"""Reading friction reports: lists for people, frames for themes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from service.core.models import FrictionReport


def list_reports(
    session: Session,
    *,
    status: str | None = None,
    category: str | None = None,
    service: str | None = None,
    reporter: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[FrictionReport]:
    statement = select(FrictionReport).order_by(col(FrictionReport.id).desc()).limit(limit)
    for column, value in (
        (FrictionReport.status, status),
        (FrictionReport.category, category),
        (FrictionReport.service, service),
        (FrictionReport.reporter, reporter),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if before_id is not None:
        statement = statement.where(col(FrictionReport.id) < before_id)
    return list(session.exec(statement))


def theme_frame(session: Session, *, since: datetime | None, service: str | None = None) -> pd.DataFrame:
    """Original (not duplicate) reports still open, or filed since ``since``, for theme grouping."""
    statement: Any = sa_select(  # several columns: SQLModel's typed exec() does not cover it
        col(FrictionReport.id),
        col(FrictionReport.text),
        col(FrictionReport.service),
        col(FrictionReport.category),
        func.coalesce(col(FrictionReport.reporter), col(FrictionReport.contact)),  # who, for "reporters"
        col(FrictionReport.votes),
        col(FrictionReport.minutes_lost),
    ).where(col(FrictionReport.duplicate_of).is_(None))
    if since is not None:
        statement = statement.where(col(FrictionReport.created_at) >= since)
    if service is not None:
        statement = statement.where(col(FrictionReport.service) == service)
    rows = session.exec(statement).all()
    return pd.DataFrame(
        [tuple(row) for row in rows], columns=["id", "text", "service", "category", "reporter", "votes", "minutes_lost"]
    )


def board(
    session: Session,
    *,
    status: str,
    category: str | None = None,
    services: list[str] | None = None,
    ids: list[int] | None = None,
    limit: int = 30,
) -> tuple[list[FrictionReport], int]:
    """One column of the triage board: the newest original (not duplicate) reports in ``status`` matching
    the filters, and how many match in all. ``services`` and ``ids`` narrow it (a team, a theme)."""
    where: list[Any] = [col(FrictionReport.status) == status, col(FrictionReport.duplicate_of).is_(None)]
    if category:
        where.append(col(FrictionReport.category) == category)
    if services is not None:
        where.append(col(FrictionReport.service).in_(services))
    if ids is not None:
        where.append(col(FrictionReport.id).in_(ids))
    rows = session.exec(select(FrictionReport).where(*where).order_by(col(FrictionReport.id).desc()).limit(limit)).all()
    total = session.exec(select(func.count()).select_from(FrictionReport).where(*where)).one()
    return list(rows), int(total)
