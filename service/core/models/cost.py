"""Tables for spend and measurements. Amounts keep their own currency; conversion happens when reported.

``cost_line`` rows are keyed by (source, external_id), so a re-sent generic event or a re-pulled OpenCost
window updates its rows instead of adding to them. A FOCUS import is aggregated on the way in, one row per
(billing period, provider, service, platform, category, currency, charge period): a million bill lines
become a few thousand rows, and re-importing a billing period replaces exactly its rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.core.db import UTCDateTime
from service.core.models.weekly import WeeklyRow
from service.core.timeutil import utcnow


class SourcedRow(SQLModel):
    """The columns a cost line and a measurement share: the sender's key (``source``, ``external_id``), the
    service, and the platform it counts under."""

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    """``focus``, ``opencost``, ``prometheus`` or ``generic``."""
    external_id: str = Field(max_length=512)
    service: str | None = Field(default=None, max_length=128, index=True)
    platform: str | None = Field(default=None, max_length=64)
    """The platform it counts under: ``platform_tagged``, else the catalogue's at ``period_start``."""
    platform_tagged: str | None = Field(default=None, max_length=64)
    """The platform the source named (a FOCUS ``platform`` tag, a generic ``platform``); None: the catalogue
    decides, and a changed platform history relabels the row."""


class CostLine(SourcedRow, table=True):
    """Spend over a period. ``service`` None is unallocated spend (kept, reported as a share)."""

    __tablename__ = "cost_line"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_cost_line_source_external"),
        Index("ix_cost_line_period", "period_start"),
        Index("ix_cost_line_billing", "source", "provider", "billing_period_start"),
    )

    category: str | None = Field(default=None, max_length=64)
    resource: str | None = Field(default=None, max_length=512)
    period_start: datetime = Field(sa_type=UTCDateTime)
    period_end: datetime = Field(sa_type=UTCDateTime)
    amount: float
    """In ``currency``; credits and refunds are negative."""
    currency: str = Field(max_length=3)
    provider: str | None = Field(default=None, max_length=128)
    billing_period_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    import_id: int | None = Field(default=None, foreign_key="cost_import.id", ondelete="SET NULL")
    details: dict[str, float] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """FOCUS: what the line's rows described themselves as (``focus.DETAIL_COLUMNS`` joined) → their amount,
    so a rule read at query time (``service.figures.cost.gpu``) can tell GPU spend without the line's key
    (and so its external id) depending on the rule. None for other sources."""


class Measurement(SourcedRow, table=True):
    """A named value of a service over a period (or at an instant: start = end). Any metric name is kept."""

    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_measurement_source_external"),
        Index("ix_measurement_metric_start", "metric", "period_start"),
    )

    metric: str = Field(max_length=128)
    value: float
    unit: str | None = Field(default=None, max_length=32)
    period_start: datetime = Field(sa_type=UTCDateTime)
    period_end: datetime = Field(sa_type=UTCDateTime)


class CostImport(SQLModel, table=True):
    """One FOCUS file imported: what it held, so an operator can see which bill replaced which."""

    __tablename__ = "cost_import"

    id: int | None = Field(default=None, primary_key=True)
    filename: str = Field(max_length=512)
    sha256: str = Field(max_length=64, index=True)
    rows: int
    lines: int
    """Aggregated cost_line rows written."""
    billing_periods: str = Field(max_length=2048)
    """Comma-separated ``provider|start`` keys this import replaced."""
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WeeklyCostRollup(WeeklyRow, table=True):
    """Weekly cost sums per service and platform (service ``""``: unallocated), in one time zone.

    Refreshed with the DORA rollups (same dirty marks, same transaction). Sums add across rows; cold-start
    samples are kept whole so a p95 of any group stays exact (service/figures/cost/rollup.py)."""

    __tablename__ = "weekly_cost_rollup"
    __table_args__ = (UniqueConstraint("timezone", "week", "service", "platform", name="uq_cost_rollup_key"),)

    service: str = Field(default="", max_length=128)
    platform: str = Field(default="", max_length=64)
    billed_cost: float = 0.0
    billed_lines: int = 0
    estimate_cost: float = 0.0
    estimate_lines: int = 0
    gpu_cost_billed: float | None = None
    gpu_cost_estimate: float | None = None
    gpu_hours_provisioned: float | None = None
    gpu_hours_used: float | None = None
    cpu_weighted: float | None = None
    cpu_hours: float | None = None
    cold_start_seconds: list[float] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
