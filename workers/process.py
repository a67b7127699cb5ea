"""Draining the inbox: claim a batch, parse each row, apply its records, mark it — one transaction.

Both modes run this: the Celery task in distributed mode and the in-process thread in embedded mode.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session

from integrations.config import IntegrationConfig
from integrations.registry import parse_inbox_body
from service.core.db import get_engine, session_scope
from service.core.errors import InvalidInput, TransientError
from service.core.models import InboxEvent
from service.core.records import Ignored, InboxMeta, Record
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.figures.friction.categorise import configured_taxonomy
from service.figures.friction.triage import current_model
from service.ingest import inbox
from service.ingest.apply import IngestPolicy, apply_records
from service.ingest.inbox import Claimed

log = logging.getLogger("frictionlog.worker")


@dataclass(slots=True)
class DrainStats:
    claimed: int = 0
    processed: int = 0
    ignored: int = 0
    failed: int = 0
    retrying: int = 0
    batches: int = 0
    more: bool = field(default=False)
    """True when the time budget ran out with rows still due."""

    def add(self, other: DrainStats) -> None:
        for name in ("claimed", "processed", "ignored", "failed", "retrying", "batches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def ingest_policy(settings: Settings, session: Session) -> IngestPolicy:
    window = timedelta(hours=settings.incident_link_window_hours) if settings.incident_link_window_hours else None
    return IngestPolicy(
        production_environments=frozenset(settings.production_environments),
        window=window,
        taxonomy=configured_taxonomy(settings),
        bot_authors=frozenset(settings.bot_authors),
        model=current_model(session, cache_key=settings.database_url),
        timezone=settings.timezone,
    )


def process_batch(settings: Settings, *, limit: int | None = None) -> DrainStats:
    """Process one batch (``limit`` rows, by default ``ingest_batch_size``). A database outage raises
    TransientError; the batch is then left untouched."""
    stats = DrainStats(batches=1)
    try:
        with session_scope(settings.database_url, write=True) as session:
            rows = inbox.claim(session, limit=limit or settings.ingest_batch_size)
            policy = ingest_policy(settings, session)
            stats.claimed = len(rows)
            config = IntegrationConfig.from_settings(settings)
            parsed = [(row, records) for row in rows if (records := _parse(session, row, config, stats)) is not None]
            session.flush()  # the ignored and failed marks, outside the savepoints below
            _apply(session, parsed, settings, policy, stats)
            session.commit()
    except (OperationalError, InterfaceError) as exc:
        raise TransientError(f"database unavailable: {exc.__class__.__name__}") from exc
    return stats


def _parse(session: Session, row: Claimed, config: IntegrationConfig, stats: DrainStats) -> list[Record] | None:
    """The row's records, or None after marking it ignored or failed (an invalid body never gets better)."""
    try:
        meta = InboxMeta(
            id=row.id,
            event_type=row.event_type,
            delivery_key=row.delivery_key,
            received_at=row.received_at,
        )
        result = parse_inbox_body(row.source, meta, row.body, config)
    except InvalidInput as exc:
        inbox.mark_failed(_stored(session, row), f"invalid: {exc.message}")
        stats.failed += 1
        log.warning("inbox.failed id=%s source=%s reason=invalid field=%s", row.id, row.source, exc.field)
        return None
    if isinstance(result, Ignored):
        inbox.mark_ignored(_stored(session, row), result.reason)
        stats.ignored += 1
        return None
    return result


def _stored(session: Session, row: Claimed) -> InboxEvent:
    """The claimed row as an ORM object, to mark it (already locked by this transaction)."""
    stored = session.get(InboxEvent, row.id)
    assert stored is not None
    return stored


def _apply(
    session: Session,
    parsed: list[tuple[Claimed, list[Record]]],
    settings: Settings,
    policy: IngestPolicy,
    stats: DrainStats,
) -> None:
    """Apply the whole batch at once; if that fails, row by row, so only the culprit is retried."""
    if not parsed:
        return
    try:
        with session.begin_nested():
            apply_records(session, [record for _, records in parsed for record in records], policy=policy)
    except (OperationalError, InterfaceError):
        raise  # the database itself is in trouble: give the whole batch back
    except Exception:  # one bad event: find it below, apply the rest
        log.warning("inbox.batch_apply_failed rows=%s; isolating", len(parsed), exc_info=True)
        for row, records in parsed:
            _apply_one(session, row, records, settings, policy, stats)
        return
    inbox.mark_processed(session, [row.id for row, _ in parsed])
    stats.processed += len(parsed)


def _apply_one(
    session: Session,
    row: Claimed,
    records: list[Record],
    settings: Settings,
    policy: IngestPolicy,
    stats: DrainStats,
) -> None:
    try:
        with session.begin_nested():
            apply_records(session, records, policy=policy)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:  # recorded on the row, retried with backoff, then left failed
        will_retry = inbox.schedule_retry(
            _stored(session, row),
            f"{exc.__class__.__name__}: {exc}",
            max_attempts=settings.ingest_max_attempts,
            base_seconds=settings.ingest_retry_base_seconds,
        )
        stats.retrying += will_retry
        stats.failed += not will_retry
        log.warning("inbox.apply_error id=%s source=%s retry=%s", row.id, row.source, will_retry, exc_info=True)
        return
    inbox.mark_processed(session, [row.id])
    stats.processed += 1


FIRST_HELD_BATCH = 50
"""With a hold bound, the first batch's size, before one has been timed."""
BETWEEN_HELD_BATCHES_SECONDS = 0.002
"""With a hold bound, the pause after each batch, so a writer queued for the lock takes it (a
``threading.Lock`` is not fair: released and re-acquired at once, the waiter would never get it)."""


def drain(
    settings: Settings,
    *,
    budget_seconds: float = 20.0,
    hold_seconds: float | None = None,
    pause: Callable[[float], None] | None = None,
) -> DrainStats:
    """Process batches until none is due or the budget is spent (then ``more`` is set).

    ``hold_seconds`` (embedded mode, one SQLite writer shared with ingest): size each batch from the
    last one's time per row, so one transaction holds the write lock about that long, and pause between
    batches so the ingest writer gets the lock in between; ``pause``, given the seconds the batch took,
    is that pause (by default ``BETWEEN_HELD_BATCHES_SECONDS``)."""
    total = DrainStats()
    deadline = time.monotonic() + budget_seconds
    limit = None if hold_seconds is None else min(FIRST_HELD_BATCH, settings.ingest_batch_size)
    while True:
        started = time.monotonic()
        stats = process_batch(settings, limit=limit)
        total.add(stats)
        if stats.claimed == 0:
            return total
        if hold_seconds is not None:
            took = time.monotonic() - started
            limit = held_batch_size(hold_seconds, took, stats.claimed, settings.ingest_batch_size)
            if pause is None:
                time.sleep(BETWEEN_HELD_BATCHES_SECONDS)
            else:
                pause(took)
        if time.monotonic() >= deadline:
            total.more = True
            return total


def held_batch_size(hold_seconds: float, took_seconds: float, rows: int, most: int) -> int:
    """The next batch's size so that it takes about ``hold_seconds``, judged by the last one (``rows`` in
    ``took_seconds``); at least 1 and at most ``most``, and at most double the last (one fast batch of a
    few cheap rows must not make the next one huge)."""
    per_row = took_seconds / max(rows, 1)
    fitting = int(hold_seconds / per_row) if per_row > 0 else most
    return max(1, min(most, fitting, 2 * rows))


def prepare_process(settings: Settings) -> None:
    """Once per worker process, after start: make the database engine, which imports its driver (~0.1 s
    that the process's first task paid, a digest build among them: BENCHMARKS.md), then settle the heap
    with the driver in it (:func:`settle_heap`). Making the engine opens no connection."""
    get_engine(settings.database_url)
    settle_heap()


def settle_heap() -> None:
    """Take everything alive now (modules, validators, SQLAlchemy's mappers and caches) out of the cyclic
    garbage collector's walk. A batch allocates hundreds of thousands of short-lived objects, so full
    collections run often, and each one walked every long-lived object too: 7 % of a drain's CPU
    (bench/processing.py). Call once, after start-up, in a process that only drains — a Celery worker
    process, not the API process (frozen objects are never freed)."""
    gc.collect()
    gc.freeze()


def seconds_until_next_due(settings: Settings) -> float | None:
    """How long until a pending row (a retry in backoff) becomes due; None when nothing is pending."""
    with session_scope(settings.database_url) as session:
        due = inbox.next_due_at(session)
    if due is None:
        return None
    return max(0.0, (due - utcnow()).total_seconds())
