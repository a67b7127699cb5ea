"""The one filter every read of a weekly rollup table applies: window, service, team, platform.

Rollup rows are keyed by (week_start, service, platform) in one time zone; both the DORA rollups
(service.figures.rollups_db) and the cost rollups (service.figures.cost.rollups_db) are read through this, so a
filter means the same thing on every weekly figure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col

from service.core.models import Service
from service.core.weeks import week_instant
from service.figures.filters import Filters


def filtered(
    statement: Any, table: Any, *, filters: Filters, start: datetime | None, end: datetime | None, tz: str
) -> Any:
    """``statement`` (which selects from ``table`` joined to ``service`` for the team) narrowed to the weeks
    that start in [the week of ``start``, ``end``) and to the filters' service, team and platform."""
    if start is not None:
        statement = statement.where(table.c.week_start >= week_instant(start, tz))
    if end is not None:
        statement = statement.where(table.c.week_start < end)
    if filters.service:
        statement = statement.where(table.c.service == filters.service)
    if filters.team:
        statement = statement.where(col(Service.team) == filters.team)
    if filters.platform:
        statement = statement.where(table.c.platform == filters.platform)
    return statement
