"""The bodies of the scheduled jobs, as functions of Settings: Celery tasks (workers.tasks) are thin
shells around them, and the embedded scheduler calls them directly, so both modes run the same code."""

from __future__ import annotations

import logging
from datetime import timedelta

from integrations import opencost, prometheus
from integrations.history import runs
from integrations.pulls import PullReport
from integrations.slack.client import sync_client
from integrations.slack.notifier import SlackNotifier, WebClientNotifier
from service.core.db import session_scope
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.weeks import last_full_week
from service.figures import rollups_db
from service.figures.friction.triage import publish_model
from service.ingest import inbox
from workers import pulse
from workers.digest import DigestRun, keep_recent, run_digests
from workers.notify import NotifyStats, notify_pending

log = logging.getLogger("frictionlog.jobs")


def slack_notifier(settings: Settings) -> SlackNotifier | None:
    return WebClientNotifier(sync_client(settings)) if settings.slack_bot_token else None


def stale_inbox(settings: Settings) -> bool:
    """Whether rows wait longer than a wake-up should take (the sweeper then enqueues a drain)."""
    with session_scope(settings.database_url) as session:
        return inbox.has_stale_pending(session, older_than=timedelta(seconds=settings.sweep_after_seconds))


def retrain(settings: Settings) -> int | None:
    """Publish a categoriser version from leads' corrections and answer its id; idempotent: None, and nothing
    published, when nothing is new since the last."""
    with session_scope(settings.database_url, write=True) as session:
        version = publish_model(session)
    if version is not None:
        log.info("categoriser.published version=%s samples=%s", version.id, version.samples)
    return version.id if version is not None else None


def notify(settings: Settings) -> NotifyStats:
    notifier = slack_notifier(settings)
    return notify_pending(settings, notifier) if notifier is not None else NotifyStats()


def refresh_rollups(settings: Settings) -> int:
    """Recompute the weekly rollups of the (service, week) pairs new events touched (all, the first time)."""
    refreshed = 0
    while True:
        with session_scope(settings.database_url, write=True) as session:
            done = rollups_db.refresh(session, settings)
        refreshed += done
        if done == 0:
            return refreshed


def weekly_digest(settings: Settings, week: str | None = None) -> DigestRun:
    """Every audience's digest for the ISO week just ended (in the configured zone), posted once."""
    return run_digests(settings, slack_notifier(settings), week=week or last_full_week(utcnow(), settings.timezone))


def keep_digests(settings: Settings) -> int:
    """Keep a digest for every recent complete week and audience (never posted): what the web app shows."""
    return keep_recent(settings)


def pulse_ask(settings: Settings) -> pulse.PulseRun:
    """The weekly pulse: measure the weeks before, then ask the opted-in members about this one. It claims
    each question before it sends it, so a redelivered task asks no one twice."""
    return pulse.ask(settings, slack_notifier(settings))


def pulse_remind(settings: Settings) -> pulse.PulseRun:
    """The pulse's one reminder about the week just ended: each question is reminded at most once."""
    return pulse.remind(settings, slack_notifier(settings))


def pull_opencost(settings: Settings) -> PullReport:
    """OpenCost allocations of the whole past days not pulled yet, into the inbox (idempotent per day). A
    window that keeps failing is reported (logged, returned) with nothing stored; the next run retries it."""
    return opencost.pull(settings)


def pull_prometheus(settings: Settings) -> PullReport:
    """The configured PromQL queries for the whole past days not pulled yet, into the inbox."""
    return prometheus.pull(settings)


def requested_imports(settings: Settings) -> list[int]:
    """History imports asked for through the API or the web app (``POST /api/v1/imports``): the runs done."""
    return runs.run_queued(settings)


def scheduled_imports(settings: Settings) -> dict[str, str]:
    """FRICTIONLOG_IMPORT_SCHEDULE's sources, each from where its checkpoints stopped (a no-op when unset)."""
    return runs.run_scheduled(settings)
