"""The key columns every weekly rollup table starts with: the week, in one time zone."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from service.core.db import UTCDateTime


class WeeklyRow(SQLModel):
    """A rollup row's id and week (ISO label and its first instant) in ``timezone``; not a table itself."""

    id: int | None = Field(default=None, primary_key=True)
    timezone: str = Field(max_length=64)
    week: str = Field(max_length=10, index=True)
    week_start: datetime = Field(sa_type=UTCDateTime, index=True)
