"""A service's platform history changed: its cost lines and measurements that the catalogue placed
(no platform named by their source) move to the platform in force at their period's start."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from service.core.models.cost import CostLine, Measurement


def relabel_cost_platforms(session: Session, *, service: str, platform_at: Callable[[datetime], str | None]) -> int:
    """Returns how many rows changed platform (the caller marks the service's rollups for a refresh)."""
    changed = 0
    tables = (CostLine.__table__, Measurement.__table__)  # type: ignore[attr-defined]
    for table in tables:
        rows = session.connection().execute(
            select(table.c.id, table.c.period_start, table.c.platform).where(
                table.c.service == service, table.c.platform_tagged.is_(None)
            )
        )
        moves = [
            {"row_id": row_id, "new_platform": platform}
            for row_id, start, old in rows
            if (platform := platform_at(start)) != old
        ]
        if moves:
            statement = (
                update(table).where(table.c.id == bindparam("row_id")).values(platform=bindparam("new_platform"))
            )
            session.connection().execute(statement, moves)
        changed += len(moves)
    return changed
