"""The CLI's database session: one definition for every command."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlmodel import Session

from service.db import session_scope
from service.migrations import upgrade
from service.settings import get_settings


def cli_session() -> AbstractContextManager[Session]:
    """A session on an up-to-date schema: in embedded mode the CLI migrates the SQLite file itself,
    as ``serve`` does, so ``frictionlog tokens create`` works on a fresh install."""
    settings = get_settings()
    if settings.embedded:
        upgrade(settings.database_url)
    return session_scope(settings.database_url, write=True)
