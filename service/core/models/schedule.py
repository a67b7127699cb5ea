"""When embedded mode last ran each weekly entry of the schedule (revision 0024)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from service.core.db import UTCDateTime


class ScheduledRun(SQLModel, table=True):
    """A weekly entry's last run in embedded mode (``workers.schedule.SCHEDULE``, by its name): a week whose
    run fell while the server was down runs as soon as it starts again, as Celery beat does from the last
    runs it keeps in its schedule file."""

    __tablename__ = "scheduled_run"

    name: str = Field(primary_key=True, max_length=64)
    last_run: datetime = Field(sa_type=UTCDateTime)
