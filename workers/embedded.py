"""Embedded mode: the worker and the scheduler as threads of the API process (SQLite, no servers).

Same drain loop as the Celery task; only the transport differs (an Event instead of a broker). The
scheduler runs the entries of workers.schedule — the table beat reads — at the moments beat would.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from celery import Celery
from celery.schedules import BaseSchedule
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from integrations.slack.client import sync_client
from integrations.slack.notifier import SlackUnavailable, WebClientNotifier
from service.core.db import session_scope
from service.core.errors import TransientError
from service.core.models import ScheduledRun
from service.core.settings import Settings
from service.core.timeutil import as_utc
from service.figures import rollups_db
from workers.jobs import retrain
from workers.names import DRAIN_TASK, RETRAIN_TASK, ROLLUP_TASK
from workers.notify import notify_pending
from workers.process import BETWEEN_HELD_BATCHES_SECONDS, DrainStats, drain, seconds_until_next_due
from workers.schedule import NOTIFY_EVERY_SECONDS, SCHEDULE, Entry, Weekly, celery_schedule

log = logging.getLogger("frictionlog.embedded")
ROLLUP_SERVICES_PER_HOLD = 2
"""Services whose dirty rollups one write transaction of the embedded worker recomputes."""
ROLLUP_PASS_SECONDS = (0.1, 1.0)
"""A pass of rollup refreshes runs as long as the drain before it took, within these bounds: while both
have work, refreshing takes at most about half the worker's time, so processing keeps up with ingest."""
BUSY_WINDOW_SECONDS = 0.25
"""Ingest counts as busy while requests were accepted this recently (each new one wakes the worker)…"""
BUSY_RATE = 400.0
"""…at this rate (requests/s over the last window) or more: the API is then the bottleneck. A steady load
below it (``bench/lag.py --embedded``: 200/s) is processed at full speed."""
BUSY_WAITING = 8
"""…or this many requests waiting for the inbox writer when a transaction ends, whatever the rate: while
the worker holds the process (the interpreter and SQLite's one write lock), requests pile up there and the
rate they are answered at falls, so the rate alone would call a stalled API idle and the worker would keep
it stalled (bench.ingest's embedded runs at 0.05–0.18× of the inline receiver)."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The last run of an entry that runs at start: long enough ago to make any schedule due (``datetime.min``
overflows a crontab's arithmetic in a time zone west of UTC)."""
RETRY_AFTER = timedelta(minutes=1)
"""A scheduled job that failed is tried again this much later (beat's tasks retry with backoff)."""


class KeptRuns:
    """The last runs of the schedule's weekly entries, kept in the database (``scheduled_run``), so a week
    whose run fell while embedded mode was down runs when it starts again (beat keeps its schedule file)."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url

    def load(self) -> dict[str, datetime]:
        try:
            with session_scope(self._url) as session:
                return {row.name: as_utc(row.last_run) for row in session.exec(select(ScheduledRun))}
        except SQLAlchemyError:  # no schema yet (the app migrates first): nothing was kept
            log.warning("embedded.kept_runs_unread", exc_info=True)
            return {}

    def save(self, name: str, moment: datetime) -> None:
        with session_scope(self._url, write=True) as session:
            session.merge(ScheduledRun(name=name, last_run=moment))
            session.commit()


def _keeps_last_run(entry: Entry) -> bool:
    """Whether an entry's last run is kept across restarts: a weekly one (a missed interval comes round again)."""
    return isinstance(entry.when, Weekly)


@dataclass(slots=True)
class _Planned:
    entry: Entry
    schedule: BaseSchedule
    last_run: datetime
    retry_at: datetime | None = None


class EmbeddedScheduler:
    """Runs the schedule's jobs in-process when due; ``clock`` is the time source (tests move it)."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
        entries: Sequence[Entry] = SCHEDULE,
        kept: KeptRuns | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock or (lambda: datetime.now(UTC))
        self._kept = kept
        app = Celery("frictionlog-embedded", set_as_current=False)
        app.conf.update(timezone=settings.timezone)
        started = self._clock()
        last_runs = kept.load() if kept is not None else {}
        self._planned = [
            _Planned(
                entry,
                celery_schedule(entry, settings, app=app, now=self._clock),
                EPOCH if entry.at_start else last_runs.get(entry.name, started),
            )
            for entry in entries
        ]
        self._asked: set[str] = set()
        self._asked_lock = threading.Lock()

    @property
    def tasks(self) -> frozenset[str]:
        return frozenset(plan.entry.task for plan in self._planned)

    def ask(self, task: str) -> None:
        """Run ``task``'s entry on the next :meth:`run_due`, due or not (what Celery's waker does by sending the
        task); from any thread. An ask while the entry runs is kept for the run after."""
        with self._asked_lock:
            self._asked.add(task)

    def _keep(self, entry: Entry, moment: datetime) -> None:
        if self._kept is None or not _keeps_last_run(entry):
            return
        try:
            self._kept.save(entry.name, moment)
        except SQLAlchemyError:  # the run happened; at worst it runs again at the next start (it is idempotent)
            log.warning("embedded.kept_run_unsaved name=%s", entry.name, exc_info=True)

    def run_due(self, stopping: Callable[[], bool] = lambda: False) -> tuple[list[str], float]:
        """Run every entry that is due or asked for, none once ``stopping()`` (the process is closing); returns
        their names and the seconds until one may be due next."""
        with self._asked_lock:
            asked, self._asked = self._asked, set()
        ran: list[str] = []
        wait = float("inf")
        for plan in self._planned:
            if stopping():
                break
            now = self._clock()
            if plan.entry.task not in asked and plan.retry_at is not None and now < plan.retry_at:
                wait = min(wait, (plan.retry_at - now).total_seconds())
                continue
            due, next_seconds = plan.schedule.is_due(plan.last_run)
            if due or plan.entry.task in asked:
                ran.append(plan.entry.name)
                try:
                    plan.entry.job(self._settings)
                except Exception:  # the loop must outlive a job's failure; it is tried again shortly
                    log.exception("embedded.job_failed name=%s", plan.entry.name)
                    plan.retry_at = now + RETRY_AFTER
                    continue
                plan.last_run, plan.retry_at = now, None
                self._keep(plan.entry, now)
                next_seconds = plan.schedule.is_due(now)[1]
            wait = min(wait, next_seconds)
        return ran, wait


def busy_pause(took_seconds: float, share: float) -> float:
    """The pause after work that took ``took_seconds`` so that the work takes ``share`` of the time."""
    return took_seconds * (1 - share) / share


def ingest_pause(took_seconds: float, since_wake_seconds: float, rate: float, share: float, waiting: int = 0) -> float:
    """The embedded worker's pause after a transaction: while ingest is busy (wake-ups at ``BUSY_RATE``
    or more, the last within ``BUSY_WINDOW_SECONDS``; or ``BUSY_WAITING`` requests ``waiting`` for the
    inbox writer), :func:`busy_pause`; otherwise only the lock hand-over pause."""
    if (since_wake_seconds < BUSY_WINDOW_SECONDS and rate >= BUSY_RATE) or waiting >= BUSY_WAITING:
        return max(BETWEEN_HELD_BATCHES_SECONDS, busy_pause(took_seconds, share))
    return BETWEEN_HELD_BATCHES_SECONDS


class EmbeddedWorker:
    """Drains when woken, and at least every ``poll_seconds`` (the in-process sweeper)."""

    def __init__(
        self, settings: Settings, *, poll_seconds: float = 5.0, waiting: Callable[[], int] = lambda: 0
    ) -> None:
        self._settings = settings
        self._poll = poll_seconds
        self._waiting = waiting
        """How many requests wait for the inbox writer now (the API's ``InboxWriter.waiting``)."""
        self._wake = threading.Event()
        self._last_wake = float("-inf")
        """``time.monotonic()`` of the last wake-up: ingest accepted something new then."""
        self._window_start, self._wakes, self._rate = time.monotonic(), 0, 0.0
        """Wake-ups counted since the window began, and the rate of the last window (per second)."""
        self._stop = threading.Event()
        self._retrain = threading.Event()
        self._notifier = WebClientNotifier(sync_client(settings)) if settings.slack_bot_token else None
        self._notify_after = 0.0
        """``time.monotonic()`` before which the outbox is not sent (Slack refused for now)."""
        self.totals = DrainStats()
        self._rollups_due = threading.Event()
        # The scheduled rollup refresh only asks this worker's loop for one: the loop refreshes in bounded
        # passes, while the job refreshes everything dirty at once and held the SQLite write lock (and so
        # ingest) for seconds every 15 s (py-spy under bench/lag.py --embedded, BENCHMARKS.md).
        entries = [
            replace(e, job=lambda _settings: self._rollups_due.set()) if e.task == ROLLUP_TASK else e
            for e in SCHEDULE
            if not e.background
        ]
        self.scheduler = EmbeddedScheduler(settings, entries=entries, kept=KeptRuns(settings.database_url))
        self.background = EmbeddedScheduler(settings, entries=[e for e in SCHEDULE if e.background])
        self._background_tasks = self.background.tasks
        self._background_wake = threading.Event()
        self._background = threading.Thread(
            target=self._background_loop, name="frictionlog-embedded-background", daemon=True
        )
        self._thread = threading.Thread(target=self._run, name="frictionlog-embedded-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._background.start()

    def wake(self, task: str = DRAIN_TASK) -> None:
        """The Waker seam: setting an Event is as cheap as coalescing gets. A background entry's task (an
        import asked for) runs at once in the background thread."""
        if task in self._background_tasks:
            self.background.ask(task)
            self._background_wake.set()
            return
        if task == RETRAIN_TASK:
            self._retrain.set()
        now = time.monotonic()
        self._wakes += 1
        if now - self._window_start >= BUSY_WINDOW_SECONDS:
            self._rate = self._wakes / (now - self._window_start)
            self._window_start, self._wakes = now, 0
        self._last_wake = now
        self._wake.set()

    def yield_to_ingest(self, took_seconds: float) -> None:
        """The pause after a transaction that took ``took_seconds``: while requests keep arriving, long
        enough that the worker takes ``embedded_busy_share`` of the time (the API answers with the rest;
        what it accepted waits in the inbox, nothing is lost); otherwise only the lock hand-over pause."""
        since = time.monotonic() - self._last_wake
        share = self._settings.embedded_busy_share
        self._stop.wait(ingest_pause(took_seconds, since, self._rate, share, self._waiting()))

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._background_wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        if self._background.is_alive():
            # A pull or an import waiting on a slow source is a daemon: it dies with the process (what it
            # stored stays stored; a pull's window is pulled again).
            self._background.join(timeout=1)

    def _refresh_rollups(self, budget_seconds: float) -> bool:
        """Refresh dirty rollups a few services per write transaction, pausing between (ingest takes the one
        SQLite write lock then), for about ``budget_seconds``; True when some are left dirty (refreshed on
        the next pass). One ``refresh`` of up to 500 services used to hold the lock for seconds: ingest
        waited out its lock timeout and spooled (py-spy under bench/lag.py --embedded, BENCHMARKS.md)."""
        deadline = time.monotonic() + budget_seconds
        while time.monotonic() < deadline:
            started = time.monotonic()
            with session_scope(self._settings.database_url, write=True) as session:
                if rollups_db.refresh(session, self._settings, limit=ROLLUP_SERVICES_PER_HOLD) == 0:
                    return False
            self.yield_to_ingest(time.monotonic() - started)
        return True

    def _notify(self) -> None:
        """Send what waits in the Slack outbox. While Slack refuses for now (or sending fails otherwise), it
        stays there and is tried again ``NOTIFY_EVERY_SECONDS`` later: not on every pass, and never in the way
        of the schedule's jobs, which run after it in the same pass."""
        if self._notifier is None or time.monotonic() < self._notify_after:
            return
        try:
            notify_pending(self._settings, self._notifier)
        except SlackUnavailable:
            self._notify_after = time.monotonic() + NOTIFY_EVERY_SECONDS
        except Exception:  # a bad taxonomy file, a bug in one message: logged, and the schedule still runs
            log.exception("embedded.notify_failed")
            self._notify_after = time.monotonic() + NOTIFY_EVERY_SECONDS

    def _background_loop(self) -> None:
        """The schedule's background entries (pulls, imports, keeping digests), in a thread of their own: a
        source that times out never holds up processing. What a pull or an import stored is drained at once."""
        while not self._stop.is_set():
            self._background_wake.clear()
            if self._stop.is_set():  # close() set the wake-up just cleared: nothing more may start
                return
            ran, wait = self.background.run_due(self._stop.is_set)
            if ran:
                self._wake.set()
            self._background_wake.wait(min(max(wait, 0.05), 60.0))

    def _run(self) -> None:
        rollups_behind = False
        while not self._stop.is_set():
            self._wake.clear()
            try:
                if self._retrain.is_set():
                    self._retrain.clear()
                    retrain(self._settings)
                started = time.monotonic()
                stats = drain(
                    self._settings,
                    budget_seconds=5.0,
                    hold_seconds=self._settings.embedded_hold_seconds,
                    pause=self.yield_to_ingest,
                )
                self.totals.add(stats)
                if stats.processed or rollups_behind or self._rollups_due.is_set():
                    self._rollups_due.clear()
                    low, high = ROLLUP_PASS_SECONDS
                    rollups_behind = self._refresh_rollups(min(high, max(low, time.monotonic() - started)))
                self._notify()
                wait = self._poll if not (stats.more or rollups_behind) else 0.0
                if stats.claimed:
                    # Let wake-ups gather into a batch: one transaction for many events, not one each.
                    self._stop.wait(self._settings.wake_interval_seconds)
                next_due = seconds_until_next_due(self._settings)
                if next_due is not None and next_due > 0:
                    wait = min(wait, next_due)
                _, scheduled = self.scheduler.run_due(self._stop.is_set)
                wait = min(wait, max(scheduled, 0.0))
                if self._rollups_due.is_set():  # asked for by the schedule just now: refresh on the next pass
                    wait = 0.0
            except TransientError:
                log.warning("embedded.drain_deferred", exc_info=True)
                wait = self._poll
            except Exception:  # the loop must outlive a bug in one pass; rows stay pending or failed
                log.exception("embedded.drain_error")
                wait = self._poll
            self._wake.wait(wait)
