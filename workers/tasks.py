"""Thin Celery tasks with stable names: they take no objects, read Settings, and call the drain loop."""

from __future__ import annotations

import logging
from typing import TypeVar

from celery import Task
from celery.signals import worker_process_init

from integrations.pulls import PullReport
from integrations.slack.notifier import SlackUnavailable
from service.core.errors import TransientError
from service.core.settings import get_settings
from workers import jobs
from workers.celery_app import app
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


def _drained(answer: T, *, stored: object) -> T:
    """A beat job's answer, once a drain is asked for when the job ``stored`` something in the inbox."""
    if stored:
        drain_inbox.apply_async()
    return answer


def _pulled(report: PullReport) -> dict[str, object]:
    return _drained({"stored": report.stored, "already": report.already, "failed": report.failed}, stored=report.stored)


def _pulsed(run: PulseRun) -> dict[str, int]:
    return _drained({"sent": run.sent, "failed": run.failed, "measured": run.measured}, stored=run.measured)


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


@app.task(name=RETRAIN_TASK, acks_late=True)
def retrain_categoriser() -> int | None:
    """Publish a categoriser version from leads' corrections; workers fit it when they next categorise.

    Idempotent: with nothing new since the last version it publishes nothing. Returns the version id.
    """
    return jobs.retrain(get_settings())


@app.task(
    name=NOTIFY_TASK,
    acks_late=True,
    autoretry_for=(SlackUnavailable,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def notify_reporters() -> dict[str, int]:
    """Post new reports to the triage channel and tell reporters their report was closed (Slack)."""
    stats = jobs.notify(get_settings())
    return {"posted": stats.posted, "dms": stats.dms, "refused": stats.refused}


@app.task(
    name=DIGEST_TASK,
    acks_late=True,
    autoretry_for=(SlackUnavailable,),
    retry_backoff=True,
    retry_backoff_max=900,
    max_retries=8,
)
def weekly_digest(week: str | None = None) -> dict[str, int]:
    """Every audience's digest for the ISO week just ended (in the configured zone), posted once."""
    run = jobs.weekly_digest(get_settings(), week)
    return {"built": run.built, "posted": run.posted, "already_posted": run.already_posted}


@app.task(name=ROLLUP_TASK, acks_late=True, autoretry_for=(TransientError,), retry_backoff=True)
def refresh_rollups() -> int:
    """Recompute the weekly rollups of the (service, week) pairs new events touched (all, the first time)."""
    return jobs.refresh_rollups(get_settings())


@app.task(name=PULL_OPENCOST_TASK, acks_late=True)
def pull_opencost() -> dict[str, object]:
    """Beat: jobs.pull_opencost, then a drain of what it stored."""
    return _pulled(jobs.pull_opencost(get_settings()))


@app.task(name=KEEP_DIGESTS_TASK, acks_late=True)
def keep_digests() -> int:
    """Beat: jobs.keep_digests."""
    return jobs.keep_digests(get_settings())


@app.task(name=PULL_PROMETHEUS_TASK, acks_late=True)
def pull_prometheus() -> dict[str, object]:
    """Beat: jobs.pull_prometheus, then a drain of what it stored."""
    return _pulled(jobs.pull_prometheus(get_settings()))


@app.task(name=IMPORT_RUNS_TASK, acks_late=True)
def requested_imports() -> list[int]:
    """Beat, and the API's wake-up after ``POST /api/v1/imports``: jobs.requested_imports, then a drain."""
    done = jobs.requested_imports(get_settings())
    return _drained(done, stored=done)


@app.task(name=IMPORT_SCHEDULED_TASK, acks_late=True)
def scheduled_imports() -> dict[str, str]:
    """Beat: jobs.scheduled_imports, then a drain of what it stored."""
    outcome = jobs.scheduled_imports(get_settings())
    return _drained(outcome, stored=outcome)


@app.task(name=PULSE_ASK_TASK, acks_late=True)
def pulse_ask() -> dict[str, int]:
    """Beat: jobs.pulse_ask (claims before it sends: a redelivered task asks no one twice), then a drain."""
    return _pulsed(jobs.pulse_ask(get_settings()))


@app.task(name=PULSE_REMIND_TASK, acks_late=True)
def pulse_remind() -> dict[str, int]:
    """Beat: jobs.pulse_remind (each question reminded at most once), then a drain."""
    return _pulsed(jobs.pulse_remind(get_settings()))
