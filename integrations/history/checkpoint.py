"""The checkpoint of one (source, scope): read at the start of an import, advanced with every stored page.

Rules (docs/import.md): no checkpoint, or one for another window → start at the first page; one for the
same window, unfinished → resume at its cursor; one finished whose window covers the asked one → nothing
to do. The page's inbox deliveries and the new cursor are committed in one transaction (:func:`store_page`),
so a process killed at any moment either stored a page and moved past it, or did neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from service.core.db import session_scope
from service.core.models import ImportCheckpoint
from service.core.timeutil import utcnow
from service.ingest.inbox import Accepted, Delivery, insert_deliveries


@dataclass(frozen=True, slots=True)
class Window:
    since: datetime
    until: datetime


@dataclass(frozen=True, slots=True)
class Start:
    cursor: str | None
    resumed: bool
    """An unfinished import of the same window is continued at ``cursor``."""
    done: bool
    """A finished import already covers the window: nothing to fetch."""


def _row(session: Session, source: str, scope: str) -> ImportCheckpoint | None:
    statement = select(ImportCheckpoint).where(
        col(ImportCheckpoint.source) == source, col(ImportCheckpoint.scope) == scope
    )
    return session.exec(statement).first()


def begin(database_url: str, source: str, scope: str, window: Window) -> Start:
    """Where this import of (source, scope) over ``window`` starts (creating or resetting the checkpoint)."""
    with session_scope(database_url, write=True) as session:
        row = _row(session, source, scope)
        if row is None:
            row = ImportCheckpoint(source=source, scope=scope, since=window.since, until=window.until)
        elif row.since == window.since and row.until == window.until and not row.done:
            return Start(row.cursor, resumed=row.cursor is not None, done=False)
        elif row.done and row.since <= window.since and window.until <= row.until:
            return Start(None, resumed=False, done=True)
        else:
            row.since, row.until, row.cursor, row.done = window.since, window.until, None, False
        row.updated_at = utcnow()
        session.add(row)
        session.commit()
    return Start(None, resumed=False, done=False)


def covered_until(database_url: str, source: str, scope: str) -> datetime | None:
    """The end of the last finished window (the scheduled import continues from there)."""
    with session_scope(database_url) as session:
        row = _row(session, source, scope)
        return row.covered_until if row is not None else None


def store_page(
    database_url: str, source: str, scope: str, deliveries: Sequence[Delivery], cursor: str | None
) -> list[Accepted]:
    """Insert the page's deliveries and move the checkpoint to ``cursor`` (None: the scope is finished),
    in one transaction."""
    with session_scope(database_url, write=True) as session:
        accepted = insert_deliveries(session.connection(), deliveries) if deliveries else []
        row = _row(session, source, scope)
        if row is None:
            raise LookupError(f"no checkpoint for {source} {scope}: begin() first")
        row.cursor = cursor
        row.pages += 1
        row.deliveries += sum(not a.duplicate for a in accepted)
        row.updated_at = utcnow()
        if cursor is None:
            row.done = True
            row.covered_until = max(row.until, row.covered_until) if row.covered_until else row.until
        session.add(row)
        session.commit()
    return accepted
