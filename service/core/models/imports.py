"""Tables of history imports (revisions 0018, 0023): where each (source, scope) stopped, and the runs
started from the API with their progress."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.core.db import UTCDateTime
from service.core.timeutil import utcnow


class ImportCheckpoint(SQLModel, table=True):
    """Where an import of one (source, scope) stands, e.g. (``github``, ``owner/repo:deployments``).

    ``cursor`` is the vendor's next page (a URL, an offset, a token; None before the first page and once
    done) for the window ``since``..``until``. It is written in the transaction that stores the page's
    inbox deliveries, so an import killed at any point resumes at the first page not stored.
    ``covered_since``..``covered_until`` is what finished windows cover (merged while they touch): an
    import inside it asks for nothing, one that ends later only for the rest; the scheduled incremental
    import starts at ``covered_until``.
    """

    __tablename__ = "import_checkpoint"
    __table_args__ = (UniqueConstraint("source", "scope", name="uq_import_checkpoint_scope"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    scope: str = Field(max_length=300)
    since: datetime = Field(sa_type=UTCDateTime)
    until: datetime = Field(sa_type=UTCDateTime)
    cursor: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    done: bool = False
    covered_since: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    covered_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    pages: int = 0
    deliveries: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """What a run was asked to import: the targets and the window (``until`` None: up to when it runs).

    It is stored as the run's ``request`` JSON; :meth:`as_json` writes it and :meth:`of` reads it back, for
    the runner, the API and the web app alike."""

    targets: tuple[str, ...]
    since: datetime
    until: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "targets": list(self.targets),
            "since": self.since.isoformat(),
            "until": self.until.isoformat() if self.until else None,
        }

    @classmethod
    def of(cls, stored: Mapping[str, Any]) -> ImportRequest:
        until = stored.get("until")
        return cls(
            targets=tuple(stored["targets"]),
            since=datetime.fromisoformat(stored["since"]),
            until=datetime.fromisoformat(until) if until else None,
        )


class ImportRun(SQLModel, table=True):
    """An import asked for through ``POST /api/v1/imports``: what, its state and its progress."""

    __tablename__ = "import_run"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    request: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    """The scopes and window asked for (never a credential)."""
    state: str = Field(default="queued", max_length=16)
    """queued, running, finished or failed."""
    progress: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    requested_by: str = Field(default="", max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    """When the run last said it was alive (revision 0023): every minute while it runs, from a thread of its own
    (``integrations.history.runs.Heartbeat``). A ``running`` run silent for ten minutes was cut off (its worker
    died) and is taken up again."""

    def asked(self) -> ImportRequest:
        """The targets and window this run was asked for (its ``request``)."""
        return ImportRequest.of(self.request)
