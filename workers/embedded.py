"""Embedded mode: the worker and the scheduler as threads of the API process (SQLite, no servers).

Same drain loop as the Celery task; only the transport differs (an Event instead of a broker).
"""

from __future__ import annotations

import logging
import threading

from integrations import opencost, prometheus
from integrations.slack.client import sync_client
from integrations.slack.notifier import WebClientNotifier
from service.db import session_scope
from service.errors import TransientError
from service.metrics import rollups_db
from service.settings import Settings
from workers.celery_app import DRAIN_TASK, RETRAIN_TASK
from workers.notify import notify_pending
from workers.process import DrainStats, drain, seconds_until_next_due
from workers.tasks import retrain

log = logging.getLogger("frictionlog.embedded")


class EmbeddedWorker:
    """Drains when woken, and at least every ``poll_seconds`` (the in-process sweeper)."""

    def __init__(self, settings: Settings, *, poll_seconds: float = 5.0) -> None:
        self._settings = settings
        self._poll = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._retrain = threading.Event()
        self._notifier = WebClientNotifier(sync_client(settings)) if settings.slack_bot_token else None
        self.totals = DrainStats()
        self._pulls = threading.Thread(target=self._pull_loop, name="frictionlog-embedded-pulls", daemon=True)
        self._thread = threading.Thread(target=self._run, name="frictionlog-embedded-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if self._settings.opencost_url or self._settings.prometheus_url:
            self._pulls.start()

    def wake(self, task: str = DRAIN_TASK) -> None:
        """The Waker seam: setting an Event is as cheap as coalescing gets."""
        if task == RETRAIN_TASK:
            self._retrain.set()
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)
        if self._pulls.is_alive():
            self._pulls.join(timeout=1)  # a pull waiting on a slow source is a daemon: it dies with the process

    def _refresh_rollups(self) -> None:
        while True:
            with session_scope(self._settings.database_url, write=True) as session:
                if rollups_db.refresh(session, self._settings) == 0:
                    return

    def _pull_loop(self) -> None:
        """The embedded scheduler's pulls (beat's pull-opencost and pull-prometheus), every pull interval, in
        a thread of their own: a source that times out never holds up processing."""
        while not self._stop.is_set():
            for source in (opencost, prometheus):
                try:
                    if source.pull(self._settings).stored:
                        self._wake.set()
                except Exception:  # a bad queries file or a bug must not stop the loop; the next interval retries
                    log.exception("embedded.pull_error source=%s", source.SOURCE)
            self._stop.wait(self._settings.pull_interval_seconds)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                if self._retrain.is_set():
                    self._retrain.clear()
                    retrain(self._settings.database_url)
                stats = drain(self._settings, budget_seconds=5.0)
                self.totals.add(stats)
                if stats.processed:
                    self._refresh_rollups()
                if self._notifier is not None:
                    notify_pending(self._settings, self._notifier)
                wait = self._poll if not stats.more else 0.0
                if stats.claimed:
                    # Let wake-ups gather into a batch: one transaction for many events, not one each.
                    self._stop.wait(self._settings.wake_interval_seconds)
                next_due = seconds_until_next_due(self._settings)
                if next_due is not None and next_due > 0:
                    wait = min(wait, next_due)
            except TransientError:
                log.warning("embedded.drain_deferred", exc_info=True)
                wait = self._poll
            except Exception:  # the loop must outlive a bug in one pass; rows stay pending or failed
                log.exception("embedded.drain_error")
                wait = self._poll
            self._wake.wait(wait)
