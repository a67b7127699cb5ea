"""The canonical data model (docs/architecture.md). Timestamps are aware UTC; natural keys make writes idempotent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from service.core.db import Samples, UTCDateTime
from service.core.models.weekly import WeeklyRow
from service.core.timeutil import utcnow
from service.core.vocab import InboxStatus


def _utc(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class InboxEvent(SQLModel, table=True):
    """One accepted request, written before the 2xx: the source of truth every derived table is rebuilt from."""

    __tablename__ = "inbox_event"
    __table_args__ = (
        UniqueConstraint("source", "delivery_key", name="uq_inbox_source_delivery"),
        Index("ix_inbox_claim", "status", "available_at"),
        # The claim walks pending rows in id order and stops at the batch size; without this it sorted
        # every pending row on each claim (quadratic over a long queue: bench/processing.py).
        Index(
            "ix_inbox_pending_id",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    event_type: str = Field(max_length=64)
    delivery_key: str = Field(max_length=128)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    headers: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=InboxStatus.PENDING, max_length=16)
    attempts: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))
    available_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    """A pending row is not claimed before this time (retry backoff)."""
    processed_at: datetime | None = _utc()


class Service(SQLModel, table=True):
    """The catalogue. Services first seen in an event are created with no team."""

    slug: str = Field(primary_key=True, max_length=128)
    team: str | None = Field(default=None, max_length=128, index=True)
    tier: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ServiceAlias(SQLModel, table=True):
    """An old (renamed or merged) service name: events under ``alias`` count for ``service``."""

    __tablename__ = "service_alias"

    alias: str = Field(primary_key=True, max_length=128)
    service: str = Field(foreign_key="service.slug", max_length=128, index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PlatformAssignment(SQLModel, table=True):
    """Which platform a service runs on from ``effective_from`` on; a migration is a change of assignment."""

    __tablename__ = "platform_assignment"
    __table_args__ = (UniqueConstraint("service", "effective_from", name="uq_assignment_service_from"),)

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(foreign_key="service.slug", max_length=128, index=True, ondelete="CASCADE")
    platform: str = Field(max_length=64)
    effective_from: datetime = Field(sa_type=UTCDateTime)


class Migration(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128, unique=True)
    from_platform: str = Field(max_length=64)
    to_platform: str = Field(max_length=64)
    started_at: datetime = Field(sa_type=UTCDateTime)
    target_date: datetime | None = _utc()
    baseline_weeks: int = 8
    design: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """The analyst's design of its effects (``service.effects.result.Options`` fields: base_weeks,
    min_pre_weeks, pre_weeks, controls, scale); None: the defaults."""


class Change(SQLModel, table=True):
    """A commit. ``committed_at`` is the start of its lead time.

    Unique per service too: in a monorepo one commit can ship in two services' deployments.
    """

    __table_args__ = (
        UniqueConstraint("repository", "sha", "service", name="uq_change_repo_sha_service"),
        Index("ix_change_repo_branch_order", "repository", "branch", "push_order"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sha: str = Field(max_length=64, index=True)
    repository: str = Field(max_length=256)
    service: str = Field(max_length=128, index=True)
    committed_at: datetime = Field(sa_type=UTCDateTime)
    pr_number: int | None = None
    merged_at: datetime | None = _utc()
    branch: str | None = Field(default=None, max_length=256)
    on_default_branch: bool = False
    push_order: int | None = Field(default=None, sa_type=BigInteger)
    author: str | None = Field(default=None, max_length=256)
    merged_into: str | None = Field(default=None, max_length=64, index=True)
    """For a pull request's own commits: the sha its merge (or squash) landed as."""


class PullRequest(SQLModel, table=True):
    __tablename__ = "pull_request"
    __table_args__ = (UniqueConstraint("repository", "number", name="uq_pull_request_repo_number"),)

    id: int | None = Field(default=None, primary_key=True)
    repository: str = Field(max_length=256)
    number: int
    head_branch: str = Field(max_length=256)
    merge_commit_sha: str = Field(max_length=64, index=True)
    merged_at: datetime = Field(sa_type=UTCDateTime)
    opened_at: datetime | None = _utc()
    """When it was opened: the end of the coding stage and the start of review (None: not sent)."""


class Deployment(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_deployment_source_external"),
        Index("ix_deployment_service_finished", "service", "finished_at"),
        Index("ix_deployment_finished", "finished_at"),  # a week of every service: the digest, raw reads
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    external_id: str = Field(max_length=256)
    service: str = Field(max_length=128)
    environment: str = Field(max_length=64)
    status: str = Field(max_length=16)
    sha: str | None = Field(default=None, max_length=64, index=True)
    repository: str | None = Field(default=None, max_length=256)
    version: str | None = Field(default=None, max_length=128)
    started_at: datetime | None = _utc()
    finished_at: datetime | None = _utc()
    platform: str | None = Field(default=None, max_length=64)
    is_rollback: bool = False
    rollback_of: str | None = Field(default=None, max_length=256)
    url: str | None = Field(default=None, max_length=1024)


class DeploymentChange(SQLModel, table=True):
    """Which changes first shipped in which deployment (the pairs behind lead time)."""

    __tablename__ = "deployment_change"

    deployment_id: int = Field(foreign_key="deployment.id", primary_key=True, ondelete="CASCADE")
    change_id: int = Field(foreign_key="change.id", primary_key=True, ondelete="CASCADE", index=True)
    excluded: str | None = Field(default=None, max_length=32)
    """Why this pair does not count in lead time: ``first_deployment`` (no predecessor to bound it) or
    ``bot`` (an automated author). None counts."""


class Incident(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_incident_source_external"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    external_id: str = Field(max_length=256)
    service: str = Field(max_length=128, index=True)
    status: str = Field(max_length=16)
    severity: str | None = Field(default=None, max_length=32)
    title: str | None = Field(default=None, sa_column=Column(Text))
    started_at: datetime = Field(sa_type=UTCDateTime)
    acknowledged_at: datetime | None = _utc()
    resolved_at: datetime | None = _utc()
    platform: str | None = Field(default=None, max_length=64)
    commit_sha: str | None = Field(default=None, max_length=64)
    caused_by_deployment: str | None = Field(default=None, max_length=256)
    """The external id of the deployment named as the cause (same source)."""
    caused_by_deployment_id: int | None = Field(default=None, foreign_key="deployment.id", ondelete="SET NULL")
    link_method: str | None = Field(default=None, max_length=16)
    """How the cause was found: ``explicit``, ``sha`` or ``window``."""
    url: str | None = Field(default=None, max_length=1024)
    category: str | None = Field(default=None, max_length=16)
    """``infrastructure`` | ``application`` | ``unknown`` (None: not classified yet, read as unknown)."""
    category_source: str | None = Field(default=None, max_length=16)
    """How it was decided: ``explicit``, ``service_map``, ``team_map`` or ``rule``."""
    category_evidence: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class FrictionReport(SQLModel, table=True):
    """A friction report. Its id is the id of the inbox row it came from: the number the reporter is told
    the moment they file it, before any worker has run, and the same after a rebuild."""

    __tablename__ = "friction_report"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    source: str = Field(default="api", max_length=32)
    reporter: str | None = Field(default=None, max_length=64)
    """A Slack user id that Slack itself sent, or None (anonymous, or filed over the API). Only this is
    ever DMed or matched in ``/friction list``."""
    text: str = Field(sa_column=Column(Text, nullable=False))
    service: str | None = Field(default=None, max_length=128, index=True)
    platform: str | None = Field(default=None, max_length=64)
    category: str = Field(default="other", max_length=64, index=True)
    category_source: str = Field(default="rule", max_length=8)
    confidence: float = 0.0
    evidence: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    minutes_lost: int | None = None
    impact: int | None = None
    frequency: str | None = Field(default=None, max_length=16)
    blocking: bool = False
    status: str = Field(default="open", max_length=16, index=True)
    duplicate_of: int | None = Field(default=None, foreign_key="friction_report.id")
    votes: int = 1
    slack_channel: str | None = Field(default=None, max_length=32)
    slack_ts: str | None = Field(default=None, max_length=32)
    """The ts of its message in the Slack triage channel (set when it is posted there)."""
    permalink: str | None = Field(default=None, max_length=1024)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    resolved_at: datetime | None = _utc()
    resolution_note: str | None = Field(default=None, sa_column=Column(Text))
    corrected_at: datetime | None = _utc()
    """When a lead last set the category by hand (the categoriser learns from these)."""
    triage_posted_at: datetime | None = _utc()
    """When it was posted to the Slack triage channel (new reports without it are that outbox)."""
    notified_at: datetime | None = _utc()
    """When the reporter was told of the resolution: closed reports with a reporter and no
    ``notified_at`` are the notification outbox."""
    contact: str | None = Field(default=None, max_length=64)
    """The reporter an API caller named: a claim shown escaped, never DMed, never a Slack identity."""


class SlackMessage(SQLModel, table=True):
    """A Slack message that could not be sent when it was due (the Web API was down): a worker sends it
    when Slack answers again. ``channel`` is always a Slack user id that Slack itself sent."""

    __tablename__ = "slack_outbox"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=64, index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = _utc()


class CategoriserModel(SQLModel, table=True):
    """A published version of the learned categoriser: trained on the corrections made up to ``trained_at``.

    Workers fit it from those corrected reports when they see a new version (fitting a few thousand short
    texts takes milliseconds), so no executable blob is ever stored.
    """

    __tablename__ = "categoriser_model"

    id: int | None = Field(default=None, primary_key=True)
    trained_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    samples: int
    classes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cross_validated_accuracy: float | None = None


class WeeklyRollup(WeeklyRow, table=True):
    """Weekly figures per service and platform, in one time zone, so a year of weekly metrics is read
    from ~10 k rows instead of recomputed from a million. Counts add up across rows; samples (lead and
    restore seconds) are kept whole so medians of any group stay exact; deploy days are a weekday mask."""

    __tablename__ = "weekly_rollup"
    __table_args__ = (UniqueConstraint("timezone", "week", "service", "platform", name="uq_rollup_key"),)

    service: str = Field(max_length=128)
    platform: str = Field(default="", max_length=64)
    deployments: int = 0
    completed: int = 0
    failed: int = 0
    deploy_days_mask: int = 0
    lead_seconds: list[float] = Field(default_factory=list, sa_column=Column(Samples, nullable=False))
    """Read back as a numpy float64 array (``service.core.db.Samples``)."""
    incidents: int = 0
    restore_seconds: list[float] = Field(default_factory=list, sa_column=Column(Samples, nullable=False))
    friction: int = 0
    friction_minutes: int = 0


class RollupDirty(SQLModel, table=True):
    """(service, week) pairs whose rollup must be recomputed: written with the raw rows, drained by a worker."""

    __tablename__ = "rollup_dirty"

    service: str = Field(primary_key=True, max_length=128)
    week_start: datetime = Field(primary_key=True, sa_type=UTCDateTime)


class RollupState(SQLModel, table=True):
    """Rollups exist for this time zone (written by a full build); without a row, reads use raw rows."""

    __tablename__ = "rollup_state"

    timezone: str = Field(primary_key=True, max_length=64)
    built_at: datetime = Field(sa_type=UTCDateTime)


class Digest(SQLModel, table=True):
    """One per (week, audience): a restarted or doubled scheduler never posts twice."""

    __table_args__ = (UniqueConstraint("week", "audience", name="uq_digest_week_audience"),)

    id: int | None = Field(default=None, primary_key=True)
    week: str = Field(max_length=10)
    audience: str = Field(max_length=128)
    channel: str | None = Field(default=None, max_length=64)
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    html: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_at: datetime | None = _utc()
    """Set by the worker that is posting it (expires after ten minutes)."""
    posted_at: datetime | None = _utc()
    slack_ts: str | None = Field(default=None, max_length=32)
    """The ts of the posted Slack message."""


class ApiToken(SQLModel, table=True):
    """Only the SHA-256 of the secret is stored; the secret is shown once, at creation."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128, unique=True)
    token_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = _utc()


DERIVED_TABLES = (
    "deployment_change",
    "incident",
    "deployment",
    "change",
    "pull_request",
    "work_item_reference",
    "work_item_status",
    "work_item",
)
"""Tables ``frictionlog rebuild`` empties and re-derives from the inbox (children first, for deletion).
Friction reports are re-derived too but never deleted: they carry triage state a lead typed in."""

ROLLUP_TABLES = ("weekly_rollup", "weekly_cost_rollup", "rollup_dirty", "rollup_state")
"""The weekly rollups and their bookkeeping: emptied by a rebuild, and rebuilt from the re-derived rows (reads
compute from raw rows until then)."""
