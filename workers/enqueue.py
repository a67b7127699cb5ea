"""How the API wakes the workers: coalesced, so a burst of requests costs one broker message, not one each.

The request path only sets a flag; a background thread turns flags into at most one message per
``wake_interval_seconds``. A lost message loses nothing: the rows are in the inbox and the sweeper
(beat, every minute) wakes the workers again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from celery import Celery

from service.core.settings import Settings
from workers.celery_app import create_celery
from workers.names import DRAIN_TASK, NOTIFY_TASK, RETRAIN_TASK, TASK_QUEUES

log = logging.getLogger("frictionlog.enqueue")


class Waker(Protocol):
    def wake(self, task: str = DRAIN_TASK) -> None:
        """Ask for ``task`` to run soon (by default: drain the inbox). Must not block or raise: it runs
        on the request path."""

    def close(self) -> None: ...


def wake_after_triage(waker: Waker, *, corrected: bool, notify_reporter: bool) -> None:
    """The wake-ups a triage asks for, from the API and from Slack alike: a corrected category retrains
    the categoriser; a closed report with a reporter sends the notification."""
    if corrected:
        waker.wake(RETRAIN_TASK)
    if notify_reporter:
        waker.wake(NOTIFY_TASK)


class CoalescingWaker:
    """Calls ``send(task)`` from a background thread: each requested task at most once per ``interval``
    while requests keep coming."""

    def __init__(self, send: Callable[[str], None], *, interval: float, name: str = "frictionlog-waker") -> None:
        self._send = send
        self._interval = interval
        self._flag = threading.Event()
        self._stop = threading.Event()
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self.sent = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def wake(self, task: str = DRAIN_TASK) -> None:
        with self._lock:
            self._pending.add(task)
        self._flag.set()

    def close(self) -> None:
        self._stop.set()
        self._flag.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._flag.wait()
            if self._stop.is_set():
                return
            self._flag.clear()
            with self._lock:
                tasks, self._pending = sorted(self._pending), set()
            for task in tasks:
                try:
                    self._send(task)
                    self.sent += 1
                except Exception:  # the broker is down: beat re-enqueues once it is back
                    log.warning("enqueue.wake_failed task=%s", task, exc_info=True)
            self._stop.wait(self._interval)


def celery_waker(settings: Settings, celery: Celery | None = None) -> CoalescingWaker:
    app = celery or create_celery(settings)

    def send(task: str) -> None:
        app.send_task(task, queue=TASK_QUEUES[task])

    return CoalescingWaker(send, interval=settings.wake_interval_seconds)
