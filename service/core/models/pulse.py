"""Tables of the weekly Slack pulse ("How many hours did infrastructure cost you this week?").

- ``pulse_member``: who opted in (only they are ever asked), anonymously or not, and the service they
  answer for (its team comes from the catalogue when the week is measured).
- ``pulse_question``: one row per (week, member) asked: the claim that makes the weekly send and the one
  reminder happen at most once each, and the response rate's denominator.
- ``pulse_answer``: one row per (week, respondent). The respondent is the Slack user id, or for an
  anonymous member a keyed digest of it (``service.figures.pulse.service.respondent``): a second answer
  replaces the first, and nothing stored names the person.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.core.db import UTCDateTime
from service.core.timeutil import utcnow


class PulseMember(SQLModel, table=True):
    __tablename__ = "pulse_member"

    slack_user: str = Field(primary_key=True, max_length=32)
    opted_in: bool = False
    anonymous: bool = False
    service: str | None = Field(default=None, max_length=128)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PulseWeek(SQLModel):
    """What a pulse question and a pulse answer start with: their id and ISO week; not a table itself."""

    id: int | None = Field(default=None, primary_key=True)
    week: str = Field(max_length=10, index=True)


class PulseQuestion(PulseWeek, table=True):
    __tablename__ = "pulse_question"
    __table_args__ = (UniqueConstraint("week", "slack_user", name="uq_pulse_question"),)

    slack_user: str = Field(max_length=32)
    service: str | None = Field(default=None, max_length=128)
    """The service the member answered for when asked (the response rate's denominator per service)."""
    asked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered: bool = False


class PulseAnswer(PulseWeek, table=True):
    __tablename__ = "pulse_answer"
    __table_args__ = (UniqueConstraint("week", "respondent", name="uq_pulse_answer"),)

    respondent: str = Field(max_length=64)
    service: str | None = Field(default=None, max_length=128)
    bucket: str = Field(max_length=8)
    about: str | None = Field(default=None, sa_column=Column(Text))
    answered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
