"""Group commit for the ingest routes: the deliveries of many concurrent requests, one transaction.

A request that commits on its own pays a few database round trips and a WAL flush, and under load its
worker thread then queues for the GIL behind the others at every round trip: on 2 cores that held the
route near 250 requests/s, a sixth of one bare INSERT + commit per request. Here a request hands its
deliveries to one writer thread and awaits the answer; the thread takes whatever has queued up while
it was busy (up to ``max_rows``), inserts it with one statement and commits once. Each request still
hears 2xx only after its own rows are committed — durability is unchanged, only shared.

A batch that fails for a reason other than the database being unreachable is retried request by
request, so one bad delivery cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from service.core.db import get_engine, session_scope, sqlite_connection, sqlite_file, sqlite_write
from service.ingest import inbox

log = logging.getLogger("frictionlog.inbox_writer")

Outcome = list[inbox.Accepted] | BaseException


@dataclass(frozen=True, slots=True)
class _Job:
    deliveries: Sequence[inbox.Delivery]
    loop: asyncio.AbstractEventLoop
    waiter: asyncio.Future[list[inbox.Accepted]]


class InboxWriter:
    def __init__(self, database_url: str, *, max_rows: int = 1000, lock_timeout: float | None = None) -> None:
        self._url = database_url
        self._lock_timeout = lock_timeout
        """SQLite: the longest a batch waits for the write lock before its requests go to the spool."""
        self._max_rows = max_rows
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._sqlite: tuple[sqlite3.Connection, Callable[[datetime], Any]] | None = None
        """SQLite: the writer's driver connection and how it stores a time (``inbox.sqlite_time_format``)."""
        self.commits = 0
        """Transactions committed so far: fewer than requests when requests shared them."""

    def waiting(self) -> int:
        """Requests queued for the writer and not yet taken into a transaction (the embedded worker reads it:
        many waiting means ingest is busy, whatever rate requests are answered at)."""
        return self._jobs.qsize()

    async def accept(self, deliveries: Sequence[inbox.Delivery]) -> list[inbox.Accepted]:
        """``inbox.accept`` for these deliveries, committed together with other requests' deliveries.

        Raises what ``inbox.accept`` raises (``OperationalError`` when the database is down)."""
        if not deliveries:
            return []
        loop = asyncio.get_running_loop()
        job = _Job(deliveries, loop, loop.create_future())
        with self._lock:
            if self._closed:
                raise RuntimeError("the inbox writer is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="frictionlog-inbox-writer", daemon=True)
                self._thread.start()
            self._jobs.put(job)
        return await job.waiter

    def close(self) -> None:
        """Finish what is queued, then stop the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._jobs.put(None)
        if thread is not None:
            thread.join(timeout=30)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            job = self._jobs.get()
            if job is None:
                break
            jobs, rows = [job], len(job.deliveries)
            while rows < self._max_rows:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                jobs.append(more)
                rows += len(more.deliveries)
            try:
                self._commit(jobs)
            except Exception as exc:  # never leave a request waiting, never let the thread die
                log.exception("inbox_writer.unexpected_error")
                _settle([(job, exc) for job in jobs])
        if self._connection is not None:
            self._connection.close()
        if self._sqlite is not None:
            self._sqlite[0].close()

    def _write(self, deliveries: list[inbox.Delivery]) -> list[inbox.Accepted]:
        if self._url.startswith("sqlite"):  # in-process: a transaction costs no round trip
            return self._write_sqlite(deliveries)
        # PostgreSQL: one autocommit psycopg connection kept open, so a batch is one round trip (the INSERT
        # is its own transaction), with no pool checkout, ping, BEGIN or COMMIT around it, and no SQLAlchemy
        # on the hot path (its per-statement work held the GIL the event loop needs). Driver errors are
        # raised as SQLAlchemy's (OperationalError when the server is away), which the routes handle.
        try:
            if self._connection is None:
                self._connection = psycopg.connect(_conninfo(self._url), autocommit=True, prepare_threshold=0)
            with self._connection.cursor() as cursor:
                return inbox.insert_deliveries_raw(cursor, deliveries)
        except psycopg.Error as exc:
            if self._connection is not None and (
                self._connection.closed or isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))
            ):
                self._connection.close()  # the server went away: reconnect on the next batch
                self._connection = None
            raise DBAPIError.instance("INSERT INTO inbox_event", None, exc, psycopg.Error) from exc

    def _write_sqlite(self, deliveries: list[inbox.Delivery]) -> list[inbox.Accepted]:
        """One transaction on a driver connection kept open (``db.sqlite_write``: the same write lock, bounded
        wait and BEGIN IMMEDIATE as ``session_scope``), with no ORM session, pool checkout or event hooks per
        batch: those cost ~0.3 ms a batch on the thread that shares the interpreter lock with the event loop.
        An in-memory database (shared only by the engine's connections) goes through ``session_scope``."""
        path = sqlite_file(self._url)
        if path is None:
            with session_scope(self._url, write=True, lock_timeout=self._lock_timeout) as session:
                results = inbox.insert_deliveries_sqlite(session.connection(), deliveries)
                session.commit()
                return results
        if self._sqlite is None:
            self._sqlite = (sqlite_connection(path), inbox.sqlite_time_format(get_engine(self._url).dialect))
        driver, as_stored = self._sqlite
        with sqlite_write(driver, self._url, lock_timeout=self._lock_timeout):
            return inbox.insert_deliveries_driver(driver, as_stored, deliveries)

    def _commit(self, jobs: list[_Job]) -> None:
        try:
            results = self._write([d for job in jobs for d in job.deliveries])
        except (OperationalError, InterfaceError) as exc:  # the database is down: every request spools
            _settle([(job, exc) for job in jobs])
            return
        except Exception as exc:
            if len(jobs) > 1:  # find the culprit: each request on its own
                log.warning("inbox_writer.batch_failed requests=%s; retrying one by one", len(jobs), exc_info=True)
                for job in jobs:
                    self._commit([job])
                return
            _settle([(jobs[0], exc)])
            return
        self.commits += 1
        outcomes: list[tuple[_Job, Outcome]] = []
        start = 0
        for job in jobs:
            outcomes.append((job, results[start : start + len(job.deliveries)]))
            start += len(job.deliveries)
        _settle(outcomes)


def _conninfo(url: str) -> str:
    """The SQLAlchemy URL (``postgresql+psycopg://…``) as a libpq connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _settle(outcomes: list[tuple[_Job, Outcome]]) -> None:
    """Hand each request its result or error, with one callback per event loop (one wake-up of the loop
    per batch, not one per request)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, Outcome]]] = {}
    for job, outcome in outcomes:
        by_loop.setdefault(job.loop, []).append((job, outcome))
    for loop, batch in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_waiters, batch)
        except RuntimeError:  # that loop has closed: its requests are gone
            log.warning("inbox_writer.loop_closed requests=%s", len(batch))


def _settle_waiters(batch: list[tuple[_Job, Outcome]]) -> None:
    for job, outcome in batch:
        if job.waiter.done():  # the request was cancelled (client gone)
            continue
        if isinstance(outcome, BaseException):
            job.waiter.set_exception(outcome)
        else:
            job.waiter.set_result(outcome)
