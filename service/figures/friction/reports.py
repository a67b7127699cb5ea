"""Reading friction reports: lists for people, frames for themes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pandas as pd
from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from service.core.models import FrictionReport
from service.core.vocab import CLOSED, ReportStatus


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


QueueSort = Literal["votes", "minutes", "age"]
QUEUE_SORTS: tuple[QueueSort, ...] = ("votes", "minutes", "age")
"""The triage queue's orders: most votes, most minutes lost, oldest first (ties: oldest first)."""


@dataclass(frozen=True, slots=True)
class QueuePage:
    rows: list[FrictionReport]
    total: int
    """How many reports match in all (``rows`` is one page of them)."""
    offset: int

    @property
    def remaining(self) -> int:
        """How many matching reports come after this page."""
        return max(0, self.total - self.offset - len(self.rows))


def _search_term(text: str) -> str:
    """A LIKE pattern for ``text`` with its own wildcards taken literally (escape character ``\\``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def queue(
    session: Session,
    *,
    status: str = ReportStatus.OPEN,
    sort: QueueSort = "votes",
    search: str | None = None,
    category: str | None = None,
    services: list[str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> QueuePage:
    """One page of the triage queue: original (not duplicate) reports in ``status``, filtered by a search
    of their text (case-insensitive, literal), category and services, in ``sort`` order. One query for the
    page, one for the count."""
    where: list[Any] = [col(FrictionReport.status) == status, col(FrictionReport.duplicate_of).is_(None)]
    if search and search.strip():
        where.append(func.lower(col(FrictionReport.text)).like(_search_term(search.strip()), escape="\\"))
    if category:
        where.append(col(FrictionReport.category) == category)
    if services is not None:
        where.append(col(FrictionReport.service).in_(services))
    oldest = (col(FrictionReport.created_at).asc(), col(FrictionReport.id).asc())
    order: tuple[Any, ...] = {
        "votes": (col(FrictionReport.votes).desc(), *oldest),
        "minutes": (func.coalesce(col(FrictionReport.minutes_lost), -1).desc(), *oldest),
        "age": oldest,
    }[sort]
    rows = session.exec(select(FrictionReport).where(*where).order_by(*order).offset(offset).limit(limit)).all()
    total = session.exec(select(func.count()).select_from(FrictionReport).where(*where)).one()
    return QueuePage(rows=list(rows), total=int(total), offset=offset)


def next_open(session: Session, *, after: int) -> int | None:
    """The next open original report to triage after report ``after`` in the queue's default order (most
    votes first), skipping ``after`` itself; None when the queue is empty."""
    statement = (
        select(FrictionReport.id)
        .where(
            col(FrictionReport.status) == ReportStatus.OPEN,
            col(FrictionReport.duplicate_of).is_(None),
            col(FrictionReport.id) != after,
        )
        .order_by(col(FrictionReport.votes).desc(), col(FrictionReport.created_at).asc(), col(FrictionReport.id))
        .limit(1)
    )
    return session.exec(statement).first()


def duplicate_candidates(session: Session, report: FrictionReport) -> pd.DataFrame:
    """The report and the originals it may duplicate (id, text, service): not closed, same category or
    same service, newest 500 of them, for ``themes.likely_duplicates``."""
    near: list[Any] = [col(FrictionReport.category) == report.category]
    if report.service:
        near.append(col(FrictionReport.service) == report.service)
    statement: Any = (
        sa_select(col(FrictionReport.id), col(FrictionReport.text), col(FrictionReport.service))
        .where(
            col(FrictionReport.duplicate_of).is_(None),
            col(FrictionReport.status).not_in(CLOSED),
            col(FrictionReport.id) != report.id,
            or_(*near),
        )
        .order_by(col(FrictionReport.id).desc())
        .limit(500)
    )
    rows = [(report.id, report.text, report.service), *(tuple(r) for r in session.exec(statement).all())]
    return pd.DataFrame(rows, columns=["id", "text", "service"])


def missing(session: Session, report_ids: list[int]) -> list[int]:
    """Those of ``report_ids`` that are no friction report."""
    found = set(session.exec(select(FrictionReport.id).where(col(FrictionReport.id).in_(report_ids))).all())
    return sorted(set(report_ids) - found)
