"""The scorecard's assumptions as an admin set them (revision 0016_scorecard29): one row per assumption,
overriding its default in ``Settings``; who changed it and when are kept with it."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from service.core.db import UTCDateTime
from service.core.timeutil import utcnow


class ScorecardAssumption(SQLModel, table=True):
    __tablename__ = "scorecard_assumption"

    key: str = Field(primary_key=True, max_length=64)
    value: float
    changed_by: str = Field(max_length=128)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
