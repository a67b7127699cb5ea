"""Group commit: concurrent requests share the writer's transactions, and each still gets its own answer."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, col, select

from service.app.api.inbox_writer import InboxWriter
from service.core import db
from service.core.db import get_engine, session_scope
from service.core.models import InboxEvent
from service.core.settings import Settings
from service.ingest import inbox
from service.ingest.inbox import Accepted, Delivery


def _delivery(key: str, body: str = "{}") -> Delivery:
    return Delivery(source="generic", event_type="deployment", delivery_key=key, body=body, headers={})


async def _accept_all(writer: InboxWriter, requests: list[list[Delivery]]) -> list[list[Accepted] | BaseException]:
    return await asyncio.gather(*(writer.accept(r) for r in requests), return_exceptions=True)


def _keys_by_id(url: str, ids: list[int]) -> dict[int, str]:
    with Session(get_engine(url)) as session:
        rows = session.exec(select(InboxEvent.id, InboxEvent.delivery_key).where(col(InboxEvent.id).in_(ids)))
        return {row_id: key for row_id, key in rows if row_id is not None}


def test_concurrent_requests_share_commits_and_each_gets_the_ids_of_its_own_rows(database_url: str) -> None:
    writer = InboxWriter(database_url)
    requests = [[_delivery(f"r{n}-{i}") for i in range(n % 3 + 1)] for n in range(60)]
    try:
        answers = asyncio.run(_accept_all(writer, requests))
    finally:
        writer.close()

    assert writer.commits < len(requests)  # requests waited together, not one commit each
    ids = []
    for request, answer in zip(requests, answers, strict=True):
        assert isinstance(answer, list)
        assert [a.duplicate for a in answer] == [False] * len(request)
        ids += [a.id for a in answer if a.id is not None]
    stored = _keys_by_id(database_url, ids)
    expected = [d.delivery_key for request in requests for d in request]
    assert [stored[i] for i in ids] == expected  # each request's ids are its own rows, in order


def test_the_same_delivery_in_two_concurrent_requests_is_stored_once(database_url: str) -> None:
    writer = InboxWriter(database_url)
    try:
        first, second = asyncio.run(_accept_all(writer, [[_delivery("same")], [_delivery("same")]]))
        again = asyncio.run(_accept_all(writer, [[_delivery("same")]]))[0]
    finally:
        writer.close()

    assert isinstance(first, list)
    assert isinstance(second, list)
    assert isinstance(again, list)
    assert sorted([first[0].duplicate, second[0].duplicate]) == [False, True]
    assert first[0].id == second[0].id == again[0].id
    assert again[0].duplicate


def test_a_delivery_the_database_refuses_fails_its_own_request_only(pg_database_url: str) -> None:
    """PostgreSQL refuses NUL in text; the other requests of the same batch must still be stored."""
    writer = InboxWriter(pg_database_url)
    requests = [[_delivery(f"ok-{n}")] for n in range(20)] + [[_delivery("bad", body="nul \x00 byte")]]
    try:
        answers = asyncio.run(_accept_all(writer, requests))
    finally:
        writer.close()

    *good, bad = answers
    assert isinstance(bad, (DBAPIError, ValueError))
    assert all(isinstance(answer, list) and not answer[0].duplicate for answer in good)
    stored = _keys_by_id(pg_database_url, [a[0].id for a in good if isinstance(a, list) and a[0].id is not None])
    assert sorted(stored.values()) == sorted(f"ok-{n}" for n in range(20))


def test_a_closed_writer_refuses_new_work(database_url: str) -> None:
    writer = InboxWriter(database_url)
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(writer.accept([_delivery("late")]))


def test_the_sqlite_driver_path_stores_rows_as_the_orm_path_does(settings: Settings) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the SQLite writer's own path")
    headers = {"user-agent": "GitHub-Hookshot/1", "x-github-event": "push"}
    made = [
        Delivery("github", "push", "k-1", '{"ref": "refs/heads/main", "naïve": "ünïcode"}', headers),
        Delivery("generic", "change", "k-2", "{}", {}),
        Delivery("github", "push", "k-1", "{}", headers),  # the same key again in the batch: a duplicate
    ]
    with session_scope(settings.database_url, write=True) as session:
        by_orm = inbox.insert_deliveries(
            session.connection(), [replace(d, delivery_key="orm-" + d.delivery_key) for d in made]
        )
        session.commit()
    with session_scope(settings.database_url, write=True) as session:
        by_driver = inbox.insert_deliveries_sqlite(session.connection(), made)
        again = inbox.insert_deliveries_sqlite(session.connection(), made[:1])
        session.commit()

    assert [a.duplicate for a in by_driver] == [a.duplicate for a in by_orm] == [False, False, True]
    assert again == [inbox.Accepted(id=by_driver[0].id, duplicate=True)]
    with Session(get_engine(settings.database_url)) as session:
        stored = {row.delivery_key: row for row in session.exec(select(InboxEvent))}
    fields = ("source", "event_type", "body", "headers", "status", "attempts", "error", "processed_at")
    for key in ("k-1", "k-2"):
        driver, orm = stored[key], stored["orm-" + key]
        assert [getattr(driver, f) for f in fields] == [getattr(orm, f) for f in fields]
        assert driver.received_at.tzinfo is not None
        assert abs((driver.received_at - orm.received_at).total_seconds()) < 60
        assert driver.available_at == driver.received_at


def test_the_sqlite_writer_waits_for_the_write_lock_as_a_session_does_and_then_stores(sqlite_url: str) -> None:
    """The writer's kept driver connection (``db.sqlite_write``) queues behind the process's write lock of the
    file like ``session_scope(write=True)``: past its bound an ``OperationalError`` (the route spools), once
    the lock is free the rows are committed and read back by the ORM."""
    writer = InboxWriter(sqlite_url, lock_timeout=0.2)
    try:
        with session_scope(sqlite_url, write=True):  # another writer of the file holds its lock
            [held] = asyncio.run(_accept_all(writer, [[_delivery("while-held")]]))
        [answer] = asyncio.run(_accept_all(writer, [[_delivery("after"), _delivery("after")]]))
    finally:
        writer.close()

    assert isinstance(held, OperationalError)
    assert isinstance(answer, list)
    assert [a.duplicate for a in answer] == [False, True]
    assert answer[0].id is not None
    assert _keys_by_id(sqlite_url, [answer[0].id]) == {answer[0].id: "after"}
    with Session(get_engine(sqlite_url)) as session:
        assert not list(session.exec(select(InboxEvent).where(InboxEvent.delivery_key == "while-held")))


def test_writers_of_one_sqlite_file_queue_on_one_lock_in_the_process(sqlite_url: str) -> None:
    """Sessions and the inbox writer's kept driver connection take the same in-process lock of the file: a
    second writer waits there (not in SQLite's busy handler, whose sleeps starve the API while the embedded
    worker writes) and past its bound is told ``DatabaseLocked``, never SQLite's "database is locked"."""
    path = db.sqlite_file(sqlite_url)
    assert path is not None
    connection = db.sqlite_connection(path)
    try:
        with (
            session_scope(sqlite_url, write=True),
            pytest.raises(db.DatabaseLocked),
            db.sqlite_write(connection, sqlite_url, lock_timeout=0.1),
        ):
            pass
        with (
            db.sqlite_write(connection, sqlite_url, lock_timeout=0.1),
            pytest.raises(db.DatabaseLocked),
            session_scope(sqlite_url, write=True, lock_timeout=0.1),
        ):
            pass
    finally:
        connection.close()
