"""What a figure is read for: one service, team or platform (``Filters``), and which platforms count as
migrated (the target platforms of the migrations)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlmodel
from sqlmodel import Session

from service.core.models import Migration


@dataclass(frozen=True, slots=True)
class Filters:
    service: str | None = None
    team: str | None = None
    platform: str | None = None
    environment: str | None = None
    """When set, this environment is treated as production for the figures."""


def migrated_platforms(session: Session) -> set[str]:
    return set(session.exec(sqlmodel.select(Migration.to_platform)).all())
