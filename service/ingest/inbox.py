"""The durable inbox: every accepted request is one row, committed before the sender hears 2xx.

Idempotency rests on the unique key (source, delivery_key): a resend finds the row already there.
Workers claim pending rows inside the transaction that writes the derived rows, so a worker that dies
mid-batch leaves its rows pending (its transaction rolls back) and nothing is half-applied.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Dialect, func, text, update
from sqlalchemy import select as sql_select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from service.core.db import any_of
from service.core.digests import feed
from service.core.models import InboxEvent
from service.core.timeutil import utcnow
from service.core.vocab import InboxStatus

MAX_ERROR_CHARS = 2000


class RawCursor(Protocol):
    """The part of a DB-API cursor :func:`insert_deliveries_raw` uses (a psycopg cursor)."""

    def execute(self, query: Any, params: Any = ..., /) -> Any: ...

    def fetchall(self) -> list[Any]: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    source: str
    event_type: str
    delivery_key: str
    body: str
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Accepted:
    id: int | None
    """None when spooled: the database was down, the delivery waits on local disk (service.ingest.spool)."""
    duplicate: bool


def content_key(source: str, event_type: str, body: bytes) -> str:
    """The delivery key when the sender gives none: an exact resend is a duplicate, an update is not."""
    digest = hashlib.sha256(b"%s\0%s\0" % (source.encode(), event_type.encode()))
    feed(digest, body)  # in pieces that keep the interpreter lock (service.core.digests)
    return "sha256:" + digest.hexdigest()


def accept(session: Session, deliveries: Sequence[Delivery]) -> list[Accepted]:
    """Insert the deliveries in the session's transaction and commit; a known (source, key) is a duplicate."""
    results = insert_deliveries(session.connection(), deliveries)
    session.commit()
    return results


def insert_deliveries(connection: Connection, deliveries: Sequence[Delivery]) -> list[Accepted]:
    """Insert the deliveries with one statement, then look up the keys that were already there.

    The cost barely grows with the number of deliveries, which is what lets the API commit many
    requests together (``service.app.api.inbox_writer``). On an autocommit connection the INSERT is its own
    transaction: every new row is committed when this returns. A key repeated within ``deliveries`` is
    new the first time and a duplicate after that. Does not commit a surrounding transaction.
    """
    first = _firsts(deliveries)
    ids = _insert_new(connection, list(first.values())) if first else {}
    new_keys = set(ids)
    known = set(first) - new_keys
    if known:
        table = InboxEvent.__table__  # type: ignore[attr-defined]
        statement = select(table.c.id, table.c.source, table.c.delivery_key).where(
            table.c.source.in_({source for source, _ in known}),
            table.c.delivery_key.in_({key for _, key in known}),
        )
        ids.update({(source, key): row_id for row_id, source, key in connection.execute(statement)})
    return _accepted(deliveries, ids, new_keys)


_PG_INSERT = text(
    """
    INSERT INTO inbox_event
        (source, event_type, delivery_key, body, headers, received_at, available_at, status, attempts)
    SELECT source, event_type, delivery_key, body, CAST(headers AS json), :now, :now, 'pending', 0
    FROM unnest(
        CAST(:sources AS text[]), CAST(:event_types AS text[]), CAST(:keys AS text[]),
        CAST(:bodies AS text[]), CAST(:headers AS text[])
    ) AS given(source, event_type, delivery_key, body, headers)
    ON CONFLICT (source, delivery_key) DO NOTHING
    RETURNING id, source, delivery_key
    """
)
"""One statement text whatever the batch size (five arrays), so PostgreSQL plans it once and the driver
prepares it: a generated multi-row VALUES list costs more to build than to run at ingest rates."""


def _row(delivery: Delivery) -> dict[str, object]:
    """A delivery's columns, as the inserts take them."""
    return {
        "source": delivery.source,
        "event_type": delivery.event_type,
        "delivery_key": delivery.delivery_key,
        "body": delivery.body,
        "headers": dict(delivery.headers),
    }


def _insert_new(connection: Connection, deliveries: list[Delivery]) -> dict[tuple[str, str], int]:
    """Insert what is not there yet; the (source, key) → id of the rows this call created."""
    now = utcnow()
    if connection.dialect.name == "postgresql":
        inserted = connection.execute(
            _PG_INSERT,
            {
                "now": now,
                "sources": [d.source for d in deliveries],
                "event_types": [d.event_type for d in deliveries],
                "keys": [d.delivery_key for d in deliveries],
                "bodies": [d.body for d in deliveries],
                "headers": [json.dumps(dict(d.headers)) for d in deliveries],
            },
        )
    else:
        table = InboxEvent.__table__  # type: ignore[attr-defined]
        statement = (
            sqlite_insert(table)
            .on_conflict_do_nothing(index_elements=["source", "delivery_key"])
            .returning(table.c.id, table.c.source, table.c.delivery_key)
        )
        rows = [
            {**_row(d), "received_at": now, "available_at": now, "status": InboxStatus.PENDING, "attempts": 0}
            for d in deliveries
        ]
        inserted = connection.execute(statement, rows)
    return {(source, key): row_id for row_id, source, key in inserted}


def claim_batch(session: Session, *, limit: int, now: datetime | None = None) -> list[InboxEvent]:
    """Lock up to ``limit`` due pending rows for this transaction; other workers skip them."""
    statement = (
        select(InboxEvent)
        .where(InboxEvent.status == InboxStatus.PENDING, col(InboxEvent.available_at) <= (now or utcnow()))
        .order_by(col(InboxEvent.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.exec(statement))


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed row as the worker reads it: plain values, not an ORM object (a batch of 500 ORM
    objects cost more than parsing their bodies). A row that fails or is ignored is loaded as an
    ``InboxEvent`` then (``session.get``: already locked by this transaction)."""

    id: int
    source: str
    event_type: str
    delivery_key: str
    received_at: datetime
    body: str


def claim(session: Session, *, limit: int, now: datetime | None = None) -> list[Claimed]:
    """:func:`claim_batch` as plain rows (one Core SELECT … FOR UPDATE SKIP LOCKED)."""
    table: Any = InboxEvent.__table__  # type: ignore[attr-defined]
    statement = (
        sql_select(
            table.c.id,
            table.c.source,
            table.c.event_type,
            table.c.delivery_key,
            table.c.received_at,
            table.c.body,
        )
        .where(table.c.status == InboxStatus.PENDING, table.c.available_at <= (now or utcnow()))
        .order_by(table.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [Claimed(*row) for row in session.connection().execute(statement).all()]


def mark_processed(session: Session, ids: Sequence[int]) -> None:
    """One UPDATE for the lot (a flush of each row object would be one statement per row)."""
    if not ids:
        return
    statement = (
        update(InboxEvent)
        .where(any_of(session, col(InboxEvent.id), ids))
        .values(status=InboxStatus.PROCESSED, attempts=InboxEvent.attempts + 1, error=None, processed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.exec(statement)


def mark_ignored(event: InboxEvent, reason: str) -> None:
    event.status = InboxStatus.IGNORED
    event.attempts += 1
    event.error = reason[:MAX_ERROR_CHARS]
    event.processed_at = utcnow()


def mark_failed(event: InboxEvent, error: str) -> None:
    """A permanent failure: left for a human and ``frictionlog replay``."""
    event.status = InboxStatus.FAILED
    event.attempts += 1
    event.error = error[:MAX_ERROR_CHARS]
    event.processed_at = utcnow()


def schedule_retry(event: InboxEvent, error: str, *, max_attempts: int, base_seconds: float) -> bool:
    """Back off exponentially; after ``max_attempts`` the row is left failed. True if it will retry."""
    if event.attempts + 1 >= max_attempts:
        mark_failed(event, error)
        return False
    event.attempts += 1
    event.error = error[:MAX_ERROR_CHARS]
    event.available_at = utcnow() + timedelta(seconds=base_seconds * 2 ** (event.attempts - 1))
    return True


def count_by_status(session: Session) -> dict[str, int]:
    rows = session.exec(select(InboxEvent.status, func.count()).group_by(InboxEvent.status)).all()
    counts: dict[str, int] = dict.fromkeys(InboxStatus, 0)
    counts.update({status: int(count) for status, count in rows})
    return counts


def next_due_at(session: Session) -> datetime | None:
    """When the earliest pending row becomes claimable (now or in the past if one is due already)."""
    return session.exec(select(func.min(InboxEvent.available_at)).where(InboxEvent.status == InboxStatus.PENDING)).one()


def has_stale_pending(session: Session, *, older_than: timedelta) -> bool:
    """Rows pending for longer than a wake-up should take: a lost broker message or a dead worker."""
    cutoff = utcnow() - older_than
    statement = (
        select(InboxEvent.id)
        .where(
            InboxEvent.status == InboxStatus.PENDING,
            col(InboxEvent.received_at) <= cutoff,
            col(InboxEvent.available_at) <= utcnow(),
        )
        .limit(1)
    )
    return session.exec(statement).first() is not None


def list_events(
    session: Session, *, status: str | None = None, limit: int = 100, before_id: int | None = None
) -> list[InboxEvent]:
    statement = select(InboxEvent).order_by(col(InboxEvent.id).desc()).limit(limit)
    if status:
        statement = statement.where(InboxEvent.status == status)
    if before_id is not None:
        statement = statement.where(col(InboxEvent.id) < before_id)
    return list(session.exec(statement))


def requeue(
    session: Session,
    *,
    statuses: Sequence[str],
    since: datetime | None = None,
    ids: Sequence[int] | None = None,
    commit: bool = True,
) -> int:
    """Put rows back to pending (replay, rebuild); returns how many. Commits, unless ``commit`` is False (a
    rebuild requeues in the transaction that deletes what it re-derives). ``ids`` narrows it to those rows
    (the web app's replay button); the CLI and the web app both replay through here."""
    statement = (
        update(InboxEvent)
        .where(col(InboxEvent.status).in_(statuses))
        .values(status=InboxStatus.PENDING, attempts=0, error=None, available_at=utcnow(), processed_at=None)
    )
    if since is not None:
        statement = statement.where(col(InboxEvent.received_at) >= since)
    if ids is not None:
        statement = statement.where(col(InboxEvent.id).in_(list(ids)))
    count = session.exec(statement).rowcount
    if commit:
        session.commit()
    return int(count)


_PG_RAW_INSERT = """
    INSERT INTO inbox_event
        (source, event_type, delivery_key, body, headers, received_at, available_at, status, attempts)
    SELECT source, event_type, delivery_key, body, headers, %(now)s, %(now)s, 'pending', 0
    FROM json_to_recordset(CAST(%(rows)s AS json))
        AS given(source text, event_type text, delivery_key text, body text, headers json)
    ON CONFLICT (source, delivery_key) DO NOTHING
    RETURNING id, source, delivery_key
"""
_PG_RAW_KNOWN = """
    SELECT id, source, delivery_key FROM inbox_event
    WHERE (source, delivery_key) IN (SELECT * FROM unnest(CAST(%s AS text[]), CAST(%s AS text[])))
"""


def insert_deliveries_raw(cursor: RawCursor, deliveries: Sequence[Delivery]) -> list[Accepted]:
    """:func:`insert_deliveries` for PostgreSQL on a bare DB-API cursor (psycopg, autocommit), with no ORM or
    SQLAlchemy Core in the way: the API's group-commit writer calls it for every batch, so its Python cost
    is paid at the ingest rate. Two fixed statement texts (the driver prepares them once); the same
    results — a key repeated in ``deliveries`` is new the first time and a duplicate after that."""
    first = _firsts(deliveries)
    chosen = list(first.values())
    # The batch as one JSON parameter, encoded by the json module's C encoder: text arrays cost the driver
    # ~5 times as much Python per row (its array dumper), on the thread that shares the GIL with the loop.
    rows = json.dumps([_row(d) for d in chosen], ensure_ascii=False)
    cursor.execute(_PG_RAW_INSERT, {"now": utcnow(), "rows": rows})
    ids: dict[tuple[str, str], int] = {(source, key): row_id for row_id, source, key in cursor.fetchall()}
    new_keys = set(ids)
    known = [pair for pair in first if pair not in new_keys]
    if known:
        cursor.execute(_PG_RAW_KNOWN, ([source for source, _ in known], [key for _, key in known]))
        ids.update({(source, key): row_id for row_id, source, key in cursor.fetchall()})
    return _accepted(deliveries, ids, new_keys)


_SQLITE_RAW_INSERT = (
    "INSERT INTO inbox_event (source, event_type, delivery_key, body, headers, received_at, available_at,"
    " status, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)"
    " ON CONFLICT (source, delivery_key) DO NOTHING RETURNING id"
)
_SQLITE_RAW_KNOWN = "SELECT id FROM inbox_event WHERE source = ? AND delivery_key = ?"


def insert_deliveries_sqlite(connection: Connection, deliveries: Sequence[Delivery]) -> list[Accepted]:
    """:func:`insert_deliveries` for SQLite, in ``connection``'s transaction, on its driver's cursor
    (:func:`insert_deliveries_driver`)."""
    driver = connection.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return insert_deliveries_driver(driver, sqlite_time_format(connection.dialect), deliveries)


def sqlite_time_format(dialect: Dialect) -> Callable[[datetime], Any]:
    """How SQLAlchemy stores the inbox's times on this dialect (naive UTC text on SQLite)."""
    table = InboxEvent.__table__  # type: ignore[attr-defined]
    as_stored = table.c.received_at.type.bind_processor(dialect)
    return as_stored if as_stored is not None else (lambda moment: moment)


def insert_deliveries_driver(
    driver: sqlite3.Connection, as_stored: Callable[[datetime], Any], deliveries: Sequence[Delivery]
) -> list[Accepted]:
    """:func:`insert_deliveries` for SQLite on a driver connection, in its open transaction: one fixed
    statement per row, the columns stored as SQLAlchemy stores them (the times by ``as_stored``:
    :func:`sqlite_time_format`, the headers JSON text), with none of its per-batch statement building — the
    API's group-commit writer calls it for every batch, on a thread that shares the interpreter lock with
    the event loop. Driver errors are raised as SQLAlchemy's (``OperationalError`` when the file is locked),
    as the writer expects."""
    first = _firsts(deliveries)
    now = as_stored(utcnow())
    if isinstance(now, datetime):  # as the driver's default adapter would, once per batch rather than twice a row
        now = now.isoformat(" ")
    pending = InboxStatus.PENDING.value
    ids: dict[tuple[str, str], int] = {}
    new_keys: set[tuple[str, str]] = set()
    cursor = driver.cursor()
    headers: tuple[Mapping[str, str], str] = ({}, "{}")  # the last headers and their JSON: senders repeat them
    try:
        for (source, key), d in first.items():
            if d.headers != headers[0]:
                headers = (d.headers, json.dumps(dict(d.headers)))
            values = (
                source,
                d.event_type,
                key,
                d.body,
                headers[1],
                now,
                now,
                pending,
            )
            row = cursor.execute(_SQLITE_RAW_INSERT, values).fetchone()
            if row is None:  # already there
                row = cursor.execute(_SQLITE_RAW_KNOWN, (source, key)).fetchone()
            else:
                new_keys.add((source, key))
            ids[(source, key)] = int(row[0])
    except sqlite3.Error as exc:
        raise DBAPIError.instance(_SQLITE_RAW_INSERT, None, exc, sqlite3.Error) from exc
    finally:
        cursor.close()
    return _accepted(deliveries, ids, new_keys)


def _firsts(deliveries: Sequence[Delivery]) -> dict[tuple[str, str], Delivery]:
    """The first delivery of each (source, key), in order: a key repeated in one batch is stored once."""
    first: dict[tuple[str, str], Delivery] = {}
    for delivery in deliveries:
        first.setdefault((delivery.source, delivery.delivery_key), delivery)
    return first


def _accepted(
    deliveries: Sequence[Delivery], ids: dict[tuple[str, str], int], new_keys: set[tuple[str, str]]
) -> list[Accepted]:
    """Each delivery's row, in order; the first of a key this batch inserted is new, every other a duplicate."""
    results: list[Accepted] = []
    for delivery in deliveries:
        key = (delivery.source, delivery.delivery_key)
        results.append(Accepted(id=ids[key], duplicate=key not in new_keys))
        new_keys.discard(key)
    return results
