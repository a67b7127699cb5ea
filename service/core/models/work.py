"""Work items, their status history and what references them. Timestamps are aware UTC.

Natural keys make every write idempotent: an item is (source, key); a history point is (source, key,
changed_at, status); a reference is (key, kind, repository, ref).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.core.db import UTCDateTime


class WorkItem(SQLModel, table=True):
    """The current state of a tracker item. ``status`` is mapped (open | in_progress | done | cancelled)."""

    __tablename__ = "work_item"
    __table_args__ = (UniqueConstraint("source", "key", name="uq_work_item_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    key: str = Field(max_length=256, index=True)
    kind: str = Field(max_length=16, index=True)
    status: str = Field(max_length=16)
    raw_status: str | None = Field(default=None, max_length=128)
    title: str | None = Field(default=None, sa_column=Column(Text))
    service: str | None = Field(default=None, max_length=128, index=True)
    team: str | None = Field(default=None, max_length=128)
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    parent: str | None = Field(default=None, max_length=256, index=True)
    url: str | None = Field(default=None, max_length=1024)
    created_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    """The newest ``changed_at`` seen: an older event arriving late never overwrites newer state."""
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WorkItemStatus(SQLModel, table=True):
    """One point of an item's status history: started and done times are read from here."""

    __tablename__ = "work_item_status"
    __table_args__ = (
        UniqueConstraint("source", "key", "changed_at", "status", name="uq_work_item_status_point"),
        Index("ix_work_item_status_item", "source", "key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    key: str = Field(max_length=256)
    status: str = Field(max_length=16)
    raw_status: str | None = Field(default=None, max_length=128)
    changed_at: datetime = Field(sa_type=UTCDateTime)


class WorkItemReference(SQLModel, table=True):
    """A change (``commit``: repository + sha), pull request (``pull_request``: repository + number),
    branch (``branch``: repository + name) or deployment (``deployment``: source + external id) naming
    an item's key. Shipment is computed from these at read time, so event order never matters."""

    __tablename__ = "work_item_reference"
    __table_args__ = (UniqueConstraint("key", "kind", "repository", "ref", name="uq_work_item_reference"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=256, index=True)
    kind: str = Field(max_length=16)
    repository: str = Field(max_length=256)
    ref: str = Field(max_length=256)
    seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
