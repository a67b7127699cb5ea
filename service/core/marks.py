"""Rollup bookkeeping every write does: mark the (service, week) pairs whose weekly rollup must refresh.

Kept apart from the pandas rollup code (service.figures.rollups_db) so that a write — ingest, the
catalogue — imports only this small module.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlmodel import Session

from service.core.db import upsert_insert
from service.core.models import RollupDirty
from service.core.weeks import week_instant

ALL_WEEKS = datetime(1970, 1, 5, tzinfo=UTC)
"""The rollup marker for "every week of this service" (see service.figures.rollups_db)."""


def mark_dirty(session: Session, pairs: Iterable[tuple[str, datetime]], *, tz: str) -> None:
    """Mark (service, week) pairs for a refresh, in the transaction that writes their raw rows.

    An existing mark is touched (a no-op UPDATE), not skipped: that locks it until this transaction
    commits, so a refresh cannot clear it having computed from rows it did not see — it skips the
    locked mark, or, if it locked the mark first, this waits and then marks again."""
    rows = sorted({(service, week_instant(moment, tz)) for service, moment in pairs if service and moment})
    if rows:
        insert = upsert_insert(session, RollupDirty)
        statement = insert.on_conflict_do_update(
            index_elements=["service", "week_start"], set_={"service": insert.excluded.service}
        )
        session.connection().execute(statement, [{"service": s, "week_start": w} for s, w in rows])


def mark_all_weeks(session: Session, service: str) -> None:
    """Every week of ``service`` must refresh (its platform history or its name changed)."""
    session.exec(
        upsert_insert(session, RollupDirty).values(service=service, week_start=ALL_WEEKS).on_conflict_do_nothing()
    )
