"""Fakes at the project's own seams (never of PostgreSQL, Redis or Celery)."""

from __future__ import annotations


class RecordingWaker:
    """The Waker seam: counts wake-ups instead of messaging workers; tests then drain explicitly."""

    def __init__(self) -> None:
        self.wakes = 0
        self.requested: list[str] = []
        self.closed = False

    def wake(self, task: str = "frictionlog.ingest.drain_inbox") -> None:
        self.wakes += 1
        self.requested.append(task)

    def close(self) -> None:
        self.closed = True
