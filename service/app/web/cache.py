"""A small memo, one per app, for the pages' heavy reads (digest content, the services table, a service's
figures, themes, the data page's warnings), keyed by a cheap data version.

An answer computed for the current data version is served as is. When the data has moved on, the last
answer is served once more while a background thread computes the new one (stale-while-revalidate), so a
busy install never makes a reader wait for a recompute; what a reader sees then lags the data by one
computation (a fraction of a second; a digest build takes seconds, see BENCHMARKS.md). An answer older
than ``STALE_SECONDS`` is never served for changed data: that request computes in the foreground.
The web app's own writes (triage, catalogue edits, replay) clear it, so their effect shows at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func
from sqlmodel import Session, col, select

from service.core.models import FrictionReport, InboxEvent, RollupDirty
from service.core.vocab import InboxStatus

T = TypeVar("T")
STALE_SECONDS = 300.0
PEEK_WAIT = 0.2
"""How long a page waits for an answer it has just started computing before it says "being prepared"."""
MAX_ENTRIES = 256
log = logging.getLogger("frictionlog.web")


@dataclass(frozen=True, slots=True)
class _Entry:
    version: Hashable
    computed: float
    value: Any


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever an event arrives or is processed, rollups are refreshed, or a report is triaged."""
    newest = session.exec(select(func.max(InboxEvent.id))).one()
    pending = session.exec(
        select(func.count()).select_from(InboxEvent).where(col(InboxEvent.status) == InboxStatus.PENDING)
    ).one()
    dirty = session.exec(select(func.count()).select_from(RollupDirty)).one()
    triaged = session.exec(
        select(
            func.count(),
            func.max(FrictionReport.corrected_at),
            func.max(FrictionReport.resolved_at),
            func.sum(FrictionReport.votes),
        ).select_from(FrictionReport)
    ).one()
    return (newest, pending, dirty, *tuple(triaged))


class PageMemo:
    """One per app (``app.state.page_memo``), so two apps in a process (tests) never share answers."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, _Entry] = {}
        self._refreshing: set[Hashable] = set()
        self._lock = threading.Lock()

    def _store(self, key: Hashable, version: Hashable, value: Any) -> None:
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES and key not in self._entries:
                self._entries.clear()
            self._entries[key] = _Entry(version, time.monotonic(), value)

    def remember(self, key: Hashable, version: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` for ``version`` of the data, or the last answer while the new one is computed.
        ``compute`` must open its own database session: it may run in a background thread."""
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit.version == version:
            fresh: T = hit.value
            return fresh
        if hit is not None and time.monotonic() - hit.computed < STALE_SECONDS:
            with self._lock:
                start = key not in self._refreshing
                self._refreshing.add(key)
            if start:
                threading.Thread(target=self._refresh, args=(key, version, compute), daemon=True).start()
            stale: T = hit.value
            return stale
        value = compute()
        self._store(key, version, value)
        return value

    def peek(
        self,
        key: Hashable,
        version: Hashable,
        compute: Callable[[], T],
        *,
        wait: float = PEEK_WAIT,
        stale_ok: Callable[[T], bool] = lambda _value: True,
    ) -> T | None:
        """Like ``remember``, but never computes in the foreground for long: with no answer yet (or only one
        too old to serve), start computing it in the background and wait at most ``wait`` seconds for it;
        None if it is not ready by then — the page says it is being prepared and reloads itself, instead of
        making its reader wait for seconds. ``stale_ok``: whether an answer for older data may still be
        served while the new one is computed (an empty digest may not: it would call a busy week quiet)."""
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and (
            hit.version == version or (time.monotonic() - hit.computed < STALE_SECONDS and stale_ok(hit.value))
        ):
            return self.remember(key, version, compute)
        with self._lock:
            start = key not in self._refreshing
            self._refreshing.add(key)
        if start:
            worker = threading.Thread(target=self._refresh, args=(key, version, compute), daemon=True)
            worker.start()
            worker.join(wait)
        with self._lock:
            ready = self._entries.get(key)
        return ready.value if ready is not None and ready.version == version else None

    def _refresh(self, key: Hashable, version: Hashable, compute: Callable[[], Any]) -> None:
        try:
            self._store(key, version, compute())
        except Exception:  # the next request computes it in the foreground and reports the error itself
            log.exception("web.cache_refresh_failed key=%s", key)
            with self._lock:
                self._entries.pop(key, None)
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def of(request: Any) -> PageMemo:
    """The app's memo (made by ``service.app.web.app.create_app``)."""
    memo: PageMemo = request.app.state.page_memo
    return memo
