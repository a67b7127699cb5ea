"""The checkpoint of one (source, scope): read at the start of an import, advanced with every stored page.

Rules (docs/import.md), for an asked window:

* an unfinished window inside it (an import killed, or given up, before) → resume that window at its cursor;
* what is covered already (the finished windows, ``covered_since``..``covered_until``) holds it → nothing;
* it starts inside what is covered and ends later → only the rest, from a day before ``covered_until``;
* otherwise → the whole window from its first page.

:func:`begin` is asked again after each window until it answers "nothing", so a resumed window is followed
by the rest of the asked one (an import started again without ``--until`` asks for a later end). The
page's inbox deliveries and the new cursor are committed in one transaction (:func:`store_page`), so a
process killed at any moment either stored a page and moved past it, or did neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from service.core.db import session_scope
from service.core.models import ImportCheckpoint
from service.core.timeutil import utcnow
from service.ingest.inbox import Accepted, Delivery, insert_deliveries


@dataclass(frozen=True, slots=True)
class Window:
    since: datetime
    until: datetime


OVERLAP = timedelta(days=1)
"""Extending a covered range starts this long before its end: items that changed late are read again
(their deliveries are keyed: nothing doubles)."""


@dataclass(frozen=True, slots=True)
class Start:
    cursor: str | None
    resumed: bool
    """An unfinished import is continued at ``cursor``."""
    done: bool
    """What finished imports cover holds the asked window: nothing to fetch."""
    window: Window
    """The window to fetch now (the asked one, its rest, or an unfinished one inside it)."""


def _row(session: Session, source: str, scope: str) -> ImportCheckpoint | None:
    statement = select(ImportCheckpoint).where(
        col(ImportCheckpoint.source) == source, col(ImportCheckpoint.scope) == scope
    )
    return session.exec(statement).first()


def begin(database_url: str, source: str, scope: str, window: Window) -> Start:
    """What to fetch now for (source, scope) and the asked ``window`` (creating or moving the checkpoint)."""
    with session_scope(database_url, write=True) as session:
        row = _row(session, source, scope)
        if row is None:
            row = ImportCheckpoint(source=source, scope=scope, since=window.since, until=window.until)
        elif not row.done and window.since <= row.since and row.until <= window.until:
            return Start(row.cursor, resumed=row.cursor is not None, done=False, window=Window(row.since, row.until))
        covered = _covered(row)
        fetch = window
        if covered is not None and covered.since <= window.since and window.until <= covered.until:
            return Start(None, resumed=False, done=True, window=window)
        if covered is not None and covered.since <= window.since <= covered.until:
            fetch = Window(max(window.since, covered.until - OVERLAP), window.until)
        row.since, row.until, row.cursor, row.done = fetch.since, fetch.until, None, False
        row.updated_at = utcnow()
        session.add(row)
        session.commit()
    return Start(None, resumed=False, done=False, window=fetch)


def _covered(row: ImportCheckpoint) -> Window | None:
    if row.covered_since is None or row.covered_until is None:
        return None
    return Window(row.covered_since, row.covered_until)


def _extend(row: ImportCheckpoint) -> None:
    """Add the finished window to what is covered: merged when they touch, else it replaces it."""
    covered = _covered(row)
    if covered is None or row.since > covered.until or row.until < covered.since:
        row.covered_since, row.covered_until = row.since, row.until
    else:
        row.covered_since, row.covered_until = min(covered.since, row.since), max(covered.until, row.until)


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
            _extend(row)
        session.add(row)
        session.commit()
    return accepted
