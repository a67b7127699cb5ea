"""The one schedule: Celery beat (distributed mode) and the embedded scheduler both read this table.

Adding a scheduled job is one line in ``SCHEDULE``: its beat name, the Celery task name, when, and the
job (a function of Settings, in workers.jobs) the embedded scheduler calls in-process. A ``when`` is
seconds (a fixed number or read from Settings) or :class:`Weekly` (a day and hour in
FRICTIONLOG_TIMEZONE), so both modes fire at the same moments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import Celery
from celery.schedules import BaseSchedule, crontab, schedule

from service.core.settings import Settings
from workers import jobs, names


@dataclass(frozen=True, slots=True)
class Weekly:
    """Once a week at ``hour``:00 on ``day`` (``mon`` … ``sun``) in the configured time zone."""

    day: Callable[[Settings], str]
    hour: Callable[[Settings], int]


When = float | Callable[[Settings], float] | Weekly


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    task: str
    when: When
    job: Callable[[Settings], Any]
    background: bool = False
    """Embedded mode runs it in a thread of its own, beside the worker's loop: for jobs that may take long
    (a pull or an import waiting on an outside source, building digests), so they never hold up processing."""
    at_start: bool = False
    """Embedded mode also runs it as soon as it starts: to catch up on what came due while it was down
    (the days not pulled yet, the imports asked for)."""


NOTIFY_EVERY_SECONDS = 30.0
"""How often the Slack outbox is sent from the schedule, and how long embedded mode waits to try again while
Slack refuses for now."""


def _pull_every(settings: Settings) -> float:
    return settings.pull_interval_seconds


SCHEDULE: tuple[Entry, ...] = (
    Entry("sweep-inbox", names.SWEEP_TASK, lambda s: s.sweep_interval_seconds, jobs.stale_inbox),
    # Corrections also request a retrain at once; this catches any request a lost message dropped.
    Entry("retrain-categoriser", names.RETRAIN_TASK, 900.0, jobs.retrain),
    # New reports reach the triage channel within half a minute; closures are also sent at once.
    Entry("notify-slack", names.NOTIFY_TASK, NOTIFY_EVERY_SECONDS, jobs.notify),
    Entry("refresh-rollups", names.ROLLUP_TASK, 15.0, jobs.refresh_rollups),
    Entry(
        "weekly-digest", names.DIGEST_TASK, Weekly(lambda s: s.digest_day, lambda s: s.digest_hour), jobs.weekly_digest
    ),
    # Whole past days not pulled yet (a no-op while the source's URL is unset).
    Entry("pull-opencost", names.PULL_OPENCOST_TASK, _pull_every, jobs.pull_opencost, background=True, at_start=True),
    Entry(
        "pull-prometheus", names.PULL_PROMETHEUS_TASK, _pull_every, jobs.pull_prometheus, background=True, at_start=True
    ),
    # History imports asked for on the API or /data (which also wake this at once, in either mode),
    # and the incremental imports of FRICTIONLOG_IMPORT_SCHEDULE (a no-op when unset): docs/import.md.
    Entry("requested-imports", names.IMPORT_RUNS_TASK, 30.0, jobs.requested_imports, background=True, at_start=True),
    Entry(
        "scheduled-imports",
        names.IMPORT_SCHEDULED_TASK,
        lambda s: s.import_interval_seconds,
        jobs.scheduled_imports,
        background=True,
        at_start=True,
    ),
    # Every recent week's digest for every audience, kept for the web app (bounded runs, in the background).
    # Not at start: a page builds a digest nobody kept yet on its own, and the start is left to the first
    # pages and to ingest (building them all takes up to KEEP_BUDGET_SECONDS of the process's CPU).
    Entry("keep-digests", names.KEEP_DIGESTS_TASK, 600.0, jobs.keep_digests, background=True),
    # The weekly pulse: one question to each opted-in engineer, and one reminder about the week just ended.
    Entry("pulse-ask", names.PULSE_ASK_TASK, Weekly(lambda s: s.pulse_day, lambda s: s.pulse_hour), jobs.pulse_ask),
    Entry(
        "pulse-remind",
        names.PULSE_REMIND_TASK,
        Weekly(lambda s: s.pulse_remind_day, lambda s: s.pulse_remind_hour),
        jobs.pulse_remind,
    ),
)


def celery_schedule(
    entry: Entry, settings: Settings, *, app: Celery | None = None, now: Callable[[], datetime] | None = None
) -> BaseSchedule:
    """The Celery schedule object of an entry. Beat binds it to its app; the embedded scheduler passes an
    app for the time zone and its own clock (``now``, which tests move)."""
    nowfun = now  # None: the app's clock (beat pickles its entries, so no lambda may sit in them)
    when = entry.when
    if isinstance(when, Weekly):
        hour, day = when.hour(settings), when.day(settings)
        return crontab(minute=0, hour=hour, day_of_week=day, nowfun=nowfun, app=app)
    seconds = when(settings) if callable(when) else when
    return schedule(run_every=timedelta(seconds=seconds), nowfun=nowfun, app=app)


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """``beat_schedule`` for Celery's configuration."""
    return {entry.name: {"task": entry.task, "schedule": celery_schedule(entry, settings)} for entry in SCHEDULE}
