"""Tables of success criteria and their audit trail (revision 0010)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.core.db import UTCDateTime
from service.core.timeutil import utcnow


class SuccessCriterion(SQLModel, table=True):
    """One per (migration, metric). ``target`` is a relative change (1.0 = +100 %) or, with ``kind``
    ``absolute``, a value in the metric's unit as the digest shows it (hours, %, per week).
    ``direction`` says which side of the target is success: ``at_least`` or ``at_most``."""

    __tablename__ = "success_criterion"
    __table_args__ = (UniqueConstraint("migration_id", "metric", name="uq_criterion_migration_metric"),)

    id: int | None = Field(default=None, primary_key=True)
    migration_id: int = Field(foreign_key="migration.id", index=True)
    metric: str = Field(max_length=64)
    direction: str = Field(max_length=16)
    kind: str = Field(default="relative", max_length=16)
    target: float
    deadline: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    """None: the migration's ``target_date``."""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CriteriaChange(SQLModel, table=True):
    """Who changed a criterion (or the migration's dates) and when, with the values before and after.
    Kept for every change; the digest shows those made after the migration started."""

    __tablename__ = "criteria_change"

    id: int | None = Field(default=None, primary_key=True)
    migration_id: int = Field(foreign_key="migration.id", index=True)
    subject: str = Field(max_length=64)
    """The metric of the criterion, or ``migration`` for its start or target date."""
    action: str = Field(max_length=16)
    """created, updated or removed."""
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    changed_by: str = Field(max_length=128)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    after_start: bool = False
    """The migration had started when this change was made: the goalposts moved."""
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    """When the change was really decided, as its recorder says (``--decided-at``: a migration recorded
    after the fact). Shown beside ``changed_at``; it never clears ``after_start``."""
    decided_ref: str | None = Field(default=None, max_length=500)
    """Where that decision is written down (a link to the RFC, the meeting notes)."""


class MetricDefinition(SQLModel, table=True):
    """A metric a user measures (any ``measurement`` name), declared once so that it is judged like the
    built-in ones: which way is better, its unit and the scale its effect is modelled on."""

    __tablename__ = "metric_definition"

    name: str = Field(primary_key=True, max_length=64)
    """The ``measurement`` name whose values it reads; its key in the effects, criteria and digest."""
    label: str = Field(max_length=128)
    unit: str = Field(max_length=32)
    higher_is_better: bool
    effect_scale: str = Field(default="ratio", max_length=16)
    defined_by: str = Field(max_length=128)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
