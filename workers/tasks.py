"""Thin Celery tasks with stable names: they take no objects, read Settings, and call the drain loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from celery import Task
from celery.signals import worker_process_init

from integrations.pulls import PullReport
from integrations.slack.notifier import SlackUnavailable
from service.core.errors import TransientError
from service.core.settings import Settings, get_settings
from service.core.timeutil import utcnow
from service.core.weeks import last_full_week
from service.digest.build import CLAIM_FOR
from workers import jobs
from workers.celery_app import app
from workers.digest import PostPending
from workers.names import (
    DIGEST_TASK,
    DRAIN_TASK,
    IMPORT_RUNS_TASK,
    IMPORT_SCHEDULED_TASK,
    KEEP_DIGESTS_TASK,
    NOTIFY_TASK,
    PULL_OPENCOST_TASK,
    PULL_PROMETHEUS_TASK,
    PULSE_ASK_TASK,
    PULSE_REMIND_TASK,
    RETRAIN_TASK,
    ROLLUP_TASK,
    SWEEP_TASK,
)
from workers.process import drain, prepare_process, seconds_until_next_due
from workers.pulse import PulseRun

log = logging.getLogger("frictionlog.tasks")
T = TypeVar("T")
J = TypeVar("J")
A = TypeVar("A")
P = ParamSpec("P")
R = TypeVar("R")


def _drained(answer: T, *, stored: object) -> T:
    """A beat job's answer, once a drain is asked for when the job ``stored`` something in the inbox."""
    if stored:
        drain_inbox.apply_async()
    return answer


def _pulled(report: PullReport) -> dict[str, object]:
    """Then a drain of the days it stored; the answer counts them stored, already there and failed."""
    return _drained({"stored": report.stored, "already": report.already, "failed": report.failed}, stored=report.stored)


def _pulsed(run: PulseRun) -> dict[str, int]:
    """Then a drain of the weeks it measured; the answer counts the messages sent and failed."""
    return _drained({"sent": run.sent, "failed": run.failed, "measured": run.measured}, stored=run.measured)


def _posting(name: str, *, backoff_max: int) -> Callable[[Callable[P, R]], Task[P, R]]:
    """A task that posts to Slack: while Slack is unavailable it is retried, eight times at the most, with
    backoff up to ``backoff_max`` seconds."""
    return app.task(
        name=name,
        acks_late=True,
        autoretry_for=(SlackUnavailable,),
        retry_backoff=True,
        retry_backoff_max=backoff_max,
        max_retries=8,
    )


def _as_is(answer: T) -> T:
    """The job's answer as it is (it stores nothing in the inbox)."""
    return answer


def _drained_if_any(answer: T) -> T:
    """Then a drain of what it stored, when it stored anything."""
    return _drained(answer, stored=answer)


def _beat(name: str, job: Callable[[Settings], J], answer: Callable[[J], A], *, acks_late: bool = True) -> Task[[], A]:
    """A thin task named ``name``: ``job`` over the current Settings, its result shaped by ``answer`` (which
    asks for a drain when the job stored something). The task's doc is the job's, then the answer's.
    ``acks_late=False`` for a job that may run longer than the broker's visibility timeout (Redis hands an
    unacknowledged message out again after it, so the job would run again beside itself): one whose progress
    and recovery live in the database."""

    def run() -> A:
        return answer(job(get_settings()))

    run.__name__ = run.__qualname__ = job.__name__
    run.__doc__ = f"{job.__doc__}\n\n{answer.__doc__}"
    return app.task(name=name, acks_late=acks_late)(run)


@worker_process_init.connect
def _prepare(**_: object) -> None:
    """Each prefork worker process, once started: see :func:`workers.process.prepare_process`."""
    prepare_process(get_settings())


@app.task(
    name=DRAIN_TASK,
    bind=True,
    acks_late=True,
    autoretry_for=(TransientError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=None,
)
def drain_inbox(self: Task) -> dict[str, int]:  # type: ignore[type-arg]
    """Process every due inbox row. Idempotent: rows are claimed under lock and marked in the same commit."""
    settings = get_settings()
    stats = drain(settings)
    if stats.processed:
        app.send_task(ROLLUP_TASK)  # the weekly rollups of what just landed
    if stats.more:
        self.apply_async()
    else:
        wait = seconds_until_next_due(settings)
        if wait is not None and wait > 0:
            self.apply_async(countdown=wait)
    log.info(
        "inbox.drained processed=%s ignored=%s failed=%s retrying=%s",
        stats.processed,
        stats.ignored,
        stats.failed,
        stats.retrying,
    )
    return {"processed": stats.processed, "ignored": stats.ignored, "failed": stats.failed}


@app.task(name=SWEEP_TASK, acks_late=True)
def sweep_inbox() -> bool:
    """Beat, every minute: if rows wait longer than a wake-up should take, enqueue a drain. Returns whether."""
    stale = jobs.stale_inbox(get_settings())
    if stale:
        log.warning("inbox.sweep_requeued")
        drain_inbox.apply_async()
    return stale


@_posting(NOTIFY_TASK, backoff_max=600)
def notify_reporters() -> dict[str, int]:
    """Post new reports to the triage channel and tell reporters their report was closed (Slack)."""
    stats = jobs.notify(get_settings())
    return {"posted": stats.posted, "dms": stats.dms, "refused": stats.refused}


@_posting(DIGEST_TASK, backoff_max=900)
def weekly_digest(week: str | None = None) -> dict[str, int]:
    """Every audience's digest for the ISO week just ended (in the configured zone), posted once. A digest
    another run claimed and has not posted is tried again once that claim may have lapsed."""
    settings = get_settings()
    week = week or last_full_week(utcnow(), settings.timezone)
    try:
        run = jobs.weekly_digest(settings, week)
    except PostPending as exc:
        raise weekly_digest.retry(exc=exc, kwargs={"week": week}, countdown=CLAIM_FOR.total_seconds()) from exc
    return {"built": run.built, "posted": run.posted, "already_posted": run.already_posted}


@app.task(name=ROLLUP_TASK, acks_late=True, autoretry_for=(TransientError,), retry_backoff=True)
def refresh_rollups() -> int:
    """Recompute the weekly rollups of the (service, week) pairs new events touched (all, the first time)."""
    return jobs.refresh_rollups(get_settings())


# The scheduled jobs (workers/schedule.py) and the API's wake-up for imports: jobs.<job>, each shaped by its
# answer, which asks for a drain of what the job stored in the inbox.
retrain_categoriser = _beat(RETRAIN_TASK, jobs.retrain, _as_is)
pull_opencost = _beat(PULL_OPENCOST_TASK, jobs.pull_opencost, _pulled)
keep_digests = _beat(KEEP_DIGESTS_TASK, jobs.keep_digests, _as_is)
pull_prometheus = _beat(PULL_PROMETHEUS_TASK, jobs.pull_prometheus, _pulled)
# An import runs for hours: acknowledged when taken. A run cut off is taken up again by the next job from its
# heartbeat (integrations/history/runs.py), a scheduled import by the next interval from its checkpoints.
requested_imports = _beat(IMPORT_RUNS_TASK, jobs.requested_imports, _drained_if_any, acks_late=False)
scheduled_imports = _beat(IMPORT_SCHEDULED_TASK, jobs.scheduled_imports, _drained_if_any, acks_late=False)
pulse_ask = _beat(PULSE_ASK_TASK, jobs.pulse_ask, _pulsed)
pulse_remind = _beat(PULSE_REMIND_TASK, jobs.pulse_remind, _pulsed)
