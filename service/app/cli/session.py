"""The CLI's database session and its "process what is pending now": one definition for every command."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import click

from service.core.settings import get_settings
from service.core.vocab import InboxStatus

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


def process_now(*, wait: bool = False, wait_seconds: float = 600.0) -> bool:
    """Process the pending rows here (embedded) or wake the workers; with ``wait``, until none is pending.
    Returns whether nothing is pending any more (always, in embedded mode)."""
    import time

    from service.core.db import session_scope
    from service.ingest import inbox
    from workers.celery_app import create_celery
    from workers.names import DRAIN_TASK
    from workers.process import drain

    settings = get_settings()
    if settings.embedded:
        stats = drain(settings, budget_seconds=3600)
        click.echo(f"processed {stats.processed}, ignored {stats.ignored}, failed {stats.failed}")
        return True
    create_celery(settings).send_task(DRAIN_TASK)
    click.echo("the workers were woken")
    deadline = time.monotonic() + (wait_seconds if wait else 0.0)
    while True:
        with session_scope(settings.database_url) as session:
            if inbox.count_by_status(session)[InboxStatus.PENDING] == 0:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(1.0)
