"""Request-scoped dependencies: the settings, a database session, the waker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from service.app.api.state import SettingsDep, StateDep
from service.core.db import lock_wait_ran_out, session_scope
from service.core.errors import DatabaseBusy
from workers.enqueue import Waker


def db_session(settings: SettingsDep) -> Iterator[Session]:
    with session_scope(settings.database_url) as session:
        yield session


def db_write_session(settings: SettingsDep) -> Iterator[Session]:
    """For routes that read and then write (see ``session_scope``): an admin's write waits at most
    FRICTIONLOG_ADMIN_LOCK_TIMEOUT_SECONDS for a lock another transaction holds (a rebuild, an import), then
    is a 503 with Retry-After — never a request hanging for the whole of someone else's transaction."""
    bound = settings.admin_lock_timeout_seconds
    try:
        with session_scope(settings.database_url, write=True, lock_timeout=bound) as session:
            yield session
    except OperationalError as error:
        if not lock_wait_ran_out(error):
            raise
        raise DatabaseBusy(f"the database is busy with another write (waited {bound:g} s); try again shortly") from None


async def get_waker(state: StateDep) -> Waker:
    if state.waker is None:
        raise RuntimeError("the app has not started: no waker yet")
    return state.waker


MAX_ID = 2_147_483_647
"""Ids are 32-bit in the database: a larger one in a request is a 422, not a database error."""
ReportId = Annotated[int, Path(ge=1, le=MAX_ID)]
BeforeId = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Page backwards from this id")]

DbSession = Annotated[Session, Depends(db_session)]
WriteSession = Annotated[Session, Depends(db_write_session)]
WakerDep = Annotated[Waker, Depends(get_waker)]
