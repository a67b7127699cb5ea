"""The CLI's database session: one definition for every command."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from service.core.settings import get_settings

if TYPE_CHECKING:
    from sqlmodel import Session


def cli_session() -> AbstractContextManager[Session]:
    """A session on an up-to-date schema: in embedded mode the CLI migrates the SQLite file itself,
    as ``serve`` does, so ``frictionlog tokens create`` works on a fresh install."""
    from service.core.db import session_scope
    from service.migrations import upgrade

    settings = get_settings()
    if settings.embedded:
        upgrade(settings.database_url)
    return session_scope(settings.database_url, write=True)
