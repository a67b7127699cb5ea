"""Engines and sessions. One engine per database URL, made on first use, never at import."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    String,
    Text,
    any_,
    event,
    func,
    literal,
    make_url,
    select,
)
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine

from service.core.errors import NotFound
from service.core.timeutil import as_utc


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores it naive; we re-attach UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        return None if value is None else as_utc(value)


class Samples(TypeDecorator[Any]):
    """A list of floats kept whole (a rollup's lead or restore seconds), stored as its values' little-endian
    IEEE 754 doubles end to end: ``BYTEA`` on PostgreSQL, ``BLOB`` on SQLite. Written from any sequence of
    numbers; read back as a read-only numpy ``float64`` array without parsing a thing (the JSON text this
    replaced took ~75 ms to parse for a year's 590,000 lead times, half the rollup read: BENCHMARKS.md)."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Sequence[float] | None, dialect: Dialect) -> bytes | None:  # noqa: ARG002
        import numpy as np  # here, not at import: the CLI starts without numpy

        return None if value is None else np.asarray(value, dtype="<f8").tobytes()

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> Any:  # noqa: ARG002
        return None if value is None else self.decode(value)

    @staticmethod
    def decode(value: bytes) -> Any:
        import numpy as np

        return np.frombuffer(value, dtype="<f8")


BUSY_TIMEOUT_MS = 30_000
"""SQLite: how long a transaction waits for another writer's lock unless it asks for less."""


class DatabaseLocked(OperationalError):
    """SQLite's write lock was not free within the caller's bound (another process holds it, or a long
    transaction): an ``OperationalError``, so ingest spools as for a database outage."""

    def __init__(self, waited: float) -> None:
        super().__init__("BEGIN IMMEDIATE", None, sqlite3.OperationalError(f"database is locked ({waited:g} s)"))


def _sqlite_setup(dbapi_connection: Any) -> None:
    """Every SQLite connection's settings, the engine's and :func:`sqlite_connection`'s alike."""
    # WAL lets the API read while the worker writes; the busy timeout queues writers instead of failing.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        _sqlite_setup(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        # How long this transaction may wait for another writer's lock (a bounded wait for ingest).
        conn.exec_driver_sql(f"PRAGMA busy_timeout={int(options.get('sqlite_busy_ms', BUSY_TIMEOUT_MS))}")
        conn.exec_driver_sql(f"BEGIN {options.get('sqlite_begin', 'DEFERRED')}")


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


@contextmanager
def session_scope(url: str, *, write: bool = False, lock_timeout: float | None = None) -> Iterator[Session]:
    """A session whose caller owns the commit; rolled back if the block raises.

    ``write=True`` for a transaction that reads before it writes: on SQLite it then takes the write lock
    at BEGIN (``BEGIN IMMEDIATE``), because a reader that later wants to write fails at once with
    "database is locked" if another writer committed meanwhile. Readers stay deferred and never block.
    Only the first transaction of the session gets the option.

    ``lock_timeout`` (writes): wait at most this many seconds for the write lock, in this process and in
    SQLite, then raise :class:`DatabaseLocked` (ingest spools instead of hanging for the lock); on PostgreSQL
    each lock wait of the first transaction is bounded (``lock_timeout``). :func:`lock_wait_ran_out` tells
    such a failure from others.
    """
    lock = _sqlite_write_lock(url) if write and url.startswith("sqlite") else None
    if lock is not None and not lock.acquire(timeout=-1 if lock_timeout is None else lock_timeout):
        raise DatabaseLocked(lock_timeout or 0.0)
    try:
        with Session(get_engine(url), expire_on_commit=False) as session:
            if lock is not None:  # SQLite only; elsewhere the session connects on its first statement
                options: dict[str, Any] = {"sqlite_begin": "IMMEDIATE"}
                if lock_timeout is not None:
                    options["sqlite_busy_ms"] = max(1, int(lock_timeout * 1000))
                session.connection(execution_options=options)
            elif write and lock_timeout is not None and url.startswith("postgresql"):
                # PostgreSQL locks rows and tables, not the file: bound each lock wait of this transaction.
                session.connection().exec_driver_sql(f"SET LOCAL lock_timeout = {max(1, int(lock_timeout * 1000))}")
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
    finally:
        if lock is not None:
            lock.release()


PG_LOCK_NOT_AVAILABLE = "55P03"


def lock_wait_ran_out(error: OperationalError) -> bool:
    """Whether a write failed because its bounded wait for another transaction's lock ran out (SQLite's
    "database is locked", PostgreSQL's lock_not_available), rather than because the database is down."""
    if isinstance(error, DatabaseLocked):
        return True
    original = error.orig
    if isinstance(original, sqlite3.OperationalError):
        return "database is locked" in str(original)
    return getattr(original, "sqlstate", None) == PG_LOCK_NOT_AVAILABLE


@lru_cache(maxsize=8)
def sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL, or None (another backend, or an in-memory database, which only the engine's
    own connections share)."""
    if not url.startswith("sqlite"):
        return None
    path = make_url(url).database
    return path if path and path != ":memory:" and not path.startswith("file:") else None


def sqlite_connection(path: str) -> sqlite3.Connection:
    """A driver connection to a SQLite file, set up as the engine's are: for a writer on the ingest path that
    keeps one open (``service.app.api.inbox_writer``), with no ORM session, pool or event hooks per batch."""
    connection = sqlite3.connect(path, check_same_thread=False, timeout=30)
    _sqlite_setup(connection)
    return connection


@contextmanager
def sqlite_write(
    connection: sqlite3.Connection, url: str, *, lock_timeout: float | None
) -> Iterator[sqlite3.Connection]:
    """:func:`session_scope` ``(url, write=True, lock_timeout=…)`` on a driver connection of
    :func:`sqlite_connection`: the process's write lock of the file (``DatabaseLocked`` past ``lock_timeout``),
    ``BEGIN IMMEDIATE`` with the same bounded busy wait, COMMIT when the block returns, ROLLBACK if it
    raises. Driver errors are raised as SQLAlchemy's (``OperationalError`` when the file is locked)."""
    lock = _sqlite_write_lock(url)
    if not lock.acquire(timeout=-1 if lock_timeout is None else lock_timeout):
        raise DatabaseLocked(lock_timeout or 0.0)
    try:
        busy = BUSY_TIMEOUT_MS if lock_timeout is None else max(1, int(lock_timeout * 1000))
        statement = "BEGIN IMMEDIATE"
        try:
            connection.execute(f"PRAGMA busy_timeout={busy}")
            connection.execute(statement)
            try:
                yield connection
                statement = "COMMIT"
                connection.execute(statement)
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc
    finally:
        lock.release()


@lru_cache(maxsize=8)
def _sqlite_write_lock(url: str) -> threading.Lock:  # noqa: ARG001 (the cache key: one lock per file)
    """Writers of one SQLite file in this process queue here instead of in SQLite's busy handler, which
    sleeps 1, 2, 5, 10 ms… between retries: with the API and the embedded worker both writing, that
    turned a 1 ms insert into 10 ms. (A plain Lock: FastAPI may release it from another thread.)"""
    return threading.Lock()


def upsert_insert(session: Session, table: Any) -> Any:
    """An INSERT that supports ``on_conflict_do_nothing/update`` on the session's backend (PostgreSQL or SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


def one_at_a_time(session: Session, name: str) -> None:
    """Hold the lock called ``name`` until the session's transaction ends: transactions that take it run one
    after another. On PostgreSQL a transaction-level advisory lock (another transaction's uncommitted rows are
    invisible to a DELETE under READ COMMITTED, so two that replace the same rows would both keep theirs); on
    SQLite its one write lock does it already."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        session.execute(func.pg_advisory_xact_lock(key))


COPY_AT_LEAST = 32
"""Fewer rows than this go by ``unnest``: a staging table's CREATE, COPY and DELETE are three more round
trips, which pay for themselves only on a batch (a quiet install drains its events one or two at a time)."""


def execute_rows(
    session: Session,
    statement: Any,
    rows: list[dict[str, Any]],
    *,
    key: tuple[str, ...],
    returning: tuple[str, ...] = (),
) -> list[tuple[Any, ...]]:
    """Run an INSERT (with its ON CONFLICT clause) for every row, as if one after another.

    On PostgreSQL the rows go by binary ``COPY`` into a temporary staging table, then one
    ``INSERT … SELECT … FROM`` it: a constant number of statements per batch, whose text does not depend
    on the batch size. (COPY's rows are formatted in C; the ``unnest`` of one array per column that this
    replaced spent three times the client CPU formatting text arrays, for the same server time:
    bench/processing.py. A batch of fewer than ``COPY_AT_LEAST`` rows still goes by ``unnest``.) A row
    may conflict only once per statement, so rows repeating a ``key`` go in later rounds, in order — the
    same outcome as applying them one by one. Elsewhere (SQLite, in-process) plain ``executemany``.

    ``returning`` (PostgreSQL only): the columns of every row written (inserted or, with DO UPDATE,
    updated; a DO NOTHING skip returns nothing), so the caller needs no second query for the ids.
    Elsewhere it returns ``[]`` and the caller looks them up.
    """
    if not rows:
        return []
    table = statement.table
    names = list(rows[0])
    types = [_array_element_type(table.c[name].type) for name in names]
    connection = session.connection()
    if connection.dialect.name != "postgresql" or any(t is None for t in types):
        connection.execute(statement, rows)
        return []
    values = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    written: list[tuple[Any, ...]] = []
    for batch in _rounds(rows, key):
        tuples = [values(row) for row in batch]
        staged = len(tuples) >= COPY_AT_LEAST and _copyable(tuples, types)
        if staged:
            insert = _copy_staged(connection, statement, names, types, tuples)
        else:  # a small batch, or a value binary COPY would refuse (another Python type than its column's)
            arrays = [
                literal(list(column), ARRAY(t)) for column, t in zip(zip(*tuples, strict=True), types, strict=True)
            ]
            given = func.unnest(*arrays).table_valued(*names).render_derived(name="given")
            insert = statement.from_select(names, select(*(given.c[name] for name in names)))
        if returning:
            insert = insert.returning(*(table.c[name] for name in returning))
            written += [tuple(row) for row in connection.execute(insert).all()]
        else:
            connection.execute(insert)
        if staged:
            connection.exec_driver_sql(f"DELETE FROM {_stage_name(table.name, names, types)}")
    return written


_PG_TYPES: tuple[tuple[type[Any], str, frozenset[type[Any]]], ...] = (
    (Boolean, "bool", frozenset({bool, type(None)})),
    (BigInteger, "int8", frozenset({int, type(None)})),
    (Integer, "int4", frozenset({int, type(None)})),
    (Float, "float8", frozenset({float, int, type(None)})),
    (DateTime, "timestamptz", frozenset({datetime, type(None)})),
    (Text, "text", frozenset({str, type(None)})),
)
"""For each array element type: its PostgreSQL name, and the Python types binary COPY takes for it."""


def _pg_type(element: Any) -> tuple[str, frozenset[type[Any]]]:
    for kind, name, accepted in _PG_TYPES:
        if isinstance(element, kind):
            return name, accepted
    raise TypeError(element)


def _copyable(tuples: list[tuple[Any, ...]], types: list[Any]) -> bool:
    """Whether every value has a Python type binary COPY dumps as its column's — the type itself or a
    subclass (a ``StrEnum``), never a bool for a number — checked before the COPY starts: a COPY that
    fails midway aborts the transaction."""
    columns = zip(*tuples, strict=True)
    for column, element in zip(columns, types, strict=True):
        accepted = _pg_type(element)[1]
        for kind in set(map(type, column)) - accepted:
            if kind is bool or not issubclass(kind, tuple(accepted)):
                return False
    return True


def _stage_name(table: str, names: list[str], types: list[Any]) -> str:
    shape = ",".join(f"{name}:{_pg_type(t)[0]}" for name, t in zip(names, types, strict=True))
    return f"stage_{table}_{hashlib.sha1(shape.encode()).hexdigest()[:10]}"


def _copy_staged(
    connection: Connection, statement: Any, names: list[str], types: list[Any], tuples: list[tuple[Any, ...]]
) -> Any:
    """COPY the rows into this connection's staging table for the table and columns (made if missing:
    it vanishes with a rolled-back savepoint that made it), and return the INSERT … SELECT from it,
    in COPY order. The caller empties the staging table after the INSERT."""
    quote = connection.dialect.identifier_preparer.quote
    stage = _stage_name(statement.table.name, names, types)
    columns = ", ".join(f"{quote(name)} {_pg_type(t)[0]}" for name, t in zip(names, types, strict=True))
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ({columns}, n_ bigint GENERATED ALWAYS AS IDENTITY)"
        )
        listed = ", ".join(quote(name) for name in names)
        with cursor.copy(f"COPY {stage} ({listed}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([_pg_type(t)[0] for t in types])
            for row in tuples:
                copy.write_row(row)
    staged = sql_table(stage, *(sql_column(name, t) for name, t in zip(names, types, strict=True)), sql_column("n_"))
    return statement.from_select(names, select(*(staged.c[name] for name in names)).order_by(staged.c.n_))


def fetch_rows(session: Session, statement: Any) -> list[tuple[Any, ...]]:
    """Every row of a Core ``SELECT`` as plain tuples, with the values SQLAlchemy would give.

    On PostgreSQL the rows come straight from psycopg's binary protocol: SQLAlchemy's per-row and
    per-value result processing cost more than the fetch itself on a year of rollup rows (17,000 rows,
    ~0.3 against ~0.2 s: BENCHMARKS.md). The only columns decoded here are the two types of ours that
    need it (``Samples``, ``UTCDateTime``); a statement selecting any other type SQLAlchemy would
    process, or with parameters expanded at execution, takes SQLAlchemy's path, as every other
    backend does.

    For bulk reads only: the statement is compiled on every call, outside SQLAlchemy's compiled cache
    (~1 ms), which a read of a few rows does not win back (one service's day of deployments: 2.7 against
    1.9 ms; a week of every service's, 29 against 32 ms; a year of rollups, 0.21 against 0.31 s)."""
    if session.autoflush:  # as ``session.exec`` would: objects added and not yet flushed are seen
        session.flush()
    connection = session.connection()
    decoders = _direct_decoders(statement, connection.dialect)
    compiled = statement.compile(dialect=connection.dialect) if decoders is not None else None
    if decoders is None or compiled is None or compiled.post_compile_params or compiled.escaped_bind_names:
        return [tuple(row) for row in connection.execute(statement)]  # IN lists expanded when run; odd names
    params = dict(compiled.params)
    for name, value in params.items():
        process = compiled.binds[name].type.bind_processor(connection.dialect)
        if process is not None:
            params[name] = process(value)
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor(binary=True) as cursor:
        rows: list[tuple[Any, ...]] = cursor.execute(str(compiled), params).fetchall()
    if not any(decoders):
        return rows
    return [
        tuple(v if decode is None or v is None else decode(v) for v, decode in zip(row, decoders, strict=True))
        for row in rows
    ]


def _direct_decoders(statement: Any, dialect: Dialect) -> list[Any] | None:
    """Per selected column, what ``fetch_rows`` applies to psycopg's value (None: nothing); None when the
    statement must go through SQLAlchemy (another backend, or a type only SQLAlchemy decodes)."""
    if dialect.name != "postgresql":
        return None
    decoders: list[Any] = []
    for column in statement.selected_columns:
        kind = column.type
        if isinstance(kind, Samples):
            decoders.append(Samples.decode)
        elif isinstance(kind, UTCDateTime):
            decoders.append(as_utc)
        elif kind.result_processor(dialect, None) is None:
            decoders.append(None)
        else:
            return None
    return decoders


def any_of(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """``column IN values`` — on PostgreSQL as ``= ANY(array)``: one parameter and one statement text
    whatever the count (an IN list of 500 ids is 500 parameters the driver and the server parse anew
    whenever the count changes)."""
    element = _array_element_type(column.type)
    if session.get_bind().dialect.name == "postgresql" and element is not None:
        return column == any_(literal(list(values), ARRAY(element)))
    return column.in_(values)


def _rounds(rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[list[dict[str, Any]]]:
    """Rows split so that no key repeats within a round; each key's rows keep their order across rounds."""
    identity = itemgetter(*key)
    keys = [identity(row) for row in rows]
    if len(set(keys)) == len(keys):
        return [rows]
    rounds: list[list[dict[str, Any]]] = []
    seen: dict[Any, int] = {}
    for row, one in zip(rows, keys, strict=True):
        index = seen.get(one, 0)
        seen[one] = index + 1
        if index == len(rounds):
            rounds.append([])
        rounds[index].append(row)
    return rounds


def _array_element_type(column_type: Any) -> Any:
    """The SQL type of a column's values as array elements, for the types the bulk writes use."""
    if isinstance(column_type, UTCDateTime):
        return DateTime(timezone=True)
    if isinstance(column_type, TypeDecorator):  # sqlmodel's AutoString and the like: what they store
        return _array_element_type(column_type.impl)
    for kind in (Boolean, BigInteger, Integer, Float):
        if isinstance(column_type, kind):
            return kind()
    if isinstance(column_type, String):  # VARCHAR(n), TEXT
        return Text()
    return None  # JSON and the like: executemany


Row = TypeVar("Row", bound=SQLModel)


def found(session: Session, model: type[Row], key: object, missing: str) -> Row:
    """The row of ``model`` with primary key ``key``, or NotFound saying ``missing``: the 404 of every page and
    API read of one row by its key."""
    row = session.get(model, key)
    if row is None:
        raise NotFound(missing)
    return row
