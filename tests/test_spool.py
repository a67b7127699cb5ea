"""The database goes away: accepted requests wait on an fsync'd spool (still 2xx) and reach the inbox,
exactly once, when it is back. A real outage of the real server, not a mock."""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, func, select

from service.app.api.app import create_app
from service.core.db import get_engine
from service.core.models import Deployment, InboxEvent
from service.core.settings import Settings
from service.ingest import inbox
from service.ingest.spool import Spool, SpoolUnavailable
from tests.factories import T0, issue_token, make_deployment
from tests.fakes import RecordingWaker
from tests.helpers import PG_ADMIN_DSN, make_settings
from workers.process import drain


class Outage:
    """Refuse new connections to one database and end the open ones; then allow them again."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.database = url.rsplit("/", 1)[1]

    def begin(self) -> None:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{self.database}" WITH ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.database,),
            )

    def end(self) -> None:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{self.database}" WITH ALLOW_CONNECTIONS true')


@pytest.fixture
def outage(pg_database_url: str) -> Iterator[Outage]:
    down = Outage(pg_database_url)
    yield down
    down.end()


@pytest.fixture
def pg_settings(pg_database_url: str, tmp_path: Path) -> Settings:
    return make_settings(pg_database_url, tmp_path)


def count(settings: Settings, model: type[SQLModel]) -> int:
    with Session(get_engine(settings.database_url)) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def test_while_the_database_is_down_requests_are_spooled_and_land_exactly_once(
    pg_settings: Settings, outage: Outage
) -> None:
    headers = {"Authorization": f"Bearer {issue_token(pg_settings, 'ci', ['ingest'])}"}
    events = [make_deployment(f"d-{i}", finished_at=T0) for i in range(15)]
    with TestClient(create_app(pg_settings, waker=RecordingWaker())) as client:
        assert client.post("/webhooks/generic", json=make_deployment("before"), headers=headers).status_code == 202

        outage.begin()
        answers = [client.post("/webhooks/generic", json=event, headers=headers) for event in events]
        resends = [client.post("/webhooks/generic", json=event, headers=headers) for event in events[:5]]
        spool = client.app.state.frictionlog.spool  # type: ignore[attr-defined]
        spooled_lines = sum(len(p.read_text().splitlines()) for p in spool.directory.glob("spool-*"))
        with pytest.raises(OperationalError, match="connection|allow"):
            client.app.state.frictionlog.spool.drain(lambda deliveries: _accept(pg_settings, deliveries))  # type: ignore[attr-defined]

        outage.end()
        get_engine(pg_settings.database_url).dispose()
        moved = _drain_spool(client, pg_settings)

    assert {a.status_code for a in answers + resends} == {202}
    assert answers[0].json() == {"id": None, "duplicate": False}
    assert spooled_lines == 20
    assert moved == 20
    assert count(pg_settings, InboxEvent) == 16  # "before" + 15 distinct; the 5 resends are duplicates
    drain(pg_settings)
    assert count(pg_settings, Deployment) == 16
    with Session(get_engine(pg_settings.database_url)) as session:
        assert inbox.count_by_status(session)["processed"] == 16


def _accept(settings: Settings, deliveries: list[inbox.Delivery]) -> None:
    from service.core.db import session_scope

    with session_scope(settings.database_url, write=True) as session:
        inbox.accept(session, deliveries)


def _drain_spool(client: TestClient, settings: Settings) -> int:
    total = 0
    spool = client.app.state.frictionlog.spool  # type: ignore[attr-defined]
    while spool.pending():
        total += spool.drain(lambda deliveries: _accept(settings, deliveries))
    return total


def test_an_unknown_token_is_503_not_401_while_the_database_is_down(pg_settings: Settings, outage: Outage) -> None:
    with TestClient(create_app(pg_settings, waker=RecordingWaker())) as client:
        outage.begin()
        response = client.post("/webhooks/generic", json=make_deployment(), headers={"Authorization": "Bearer fl_new"})
        outage.end()

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"


def test_when_the_spool_cannot_be_written_either_the_answer_is_503(
    pg_database_url: str, tmp_path: Path, outage: Outage
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the spool directory should be")
    settings = make_settings(pg_database_url, tmp_path, spool_dir=blocked / "spool")
    headers = {"Authorization": f"Bearer {issue_token(settings, 'ci', ['ingest'])}"}
    with TestClient(create_app(settings, waker=RecordingWaker())) as client:
        assert client.post("/webhooks/generic", json=make_deployment("warm"), headers=headers).status_code == 202
        outage.begin()
        response = client.post("/webhooks/generic", json=make_deployment(), headers=headers)
        outage.end()

    assert response.status_code == 503


def test_deliveries_spooled_across_several_failed_drains_all_reach_the_inbox(tmp_path: Path) -> None:
    """Found by the chaos run: each failed drain left a ``.draining`` file, and the next drain renamed
    the newer spool file over it — everything spooled before the last attempt was lost."""
    spool = Spool(tmp_path / "spool")
    delivered: list[str] = []
    outage = True

    def accept(deliveries: list[inbox.Delivery]) -> None:
        if outage:
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        delivered.extend(d.delivery_key for d in deliveries)

    for attempt in range(3):
        spool.append([_delivery(f"k-{attempt}-{i}") for i in range(4)])
        with pytest.raises(OperationalError):
            spool.drain(accept)
    outage = False
    moved = spool.drain(accept)

    assert moved == 12
    assert sorted(delivered) == sorted(f"k-{attempt}-{i}" for attempt in range(3) for i in range(4))
    assert not spool.pending()


def _delivery(key: str) -> inbox.Delivery:
    return inbox.Delivery(source="generic", event_type="deployment", delivery_key=key, body="{}", headers={})


class _PausedAtOpen(type(Path())):  # type: ignore[misc]
    """A spool file path whose next open for appending lets ``meanwhile`` run between the open and the write:
    another process's drainer, landing in that gap."""

    meanwhile: list[Callable[[], object]] = []

    def open(self, *args: Any, **kwargs: Any) -> Any:
        handle = super().open(*args, **kwargs)
        if args and str(args[0]).startswith("a") and _PausedAtOpen.meanwhile:
            _PausedAtOpen.meanwhile.pop()()
        return handle


class _OtherProcessSpool(Spool):
    @property
    def current(self) -> Path:
        return _PausedAtOpen(super().current)


def test_a_file_drained_by_another_process_while_a_request_writes_to_it_loses_nothing(tmp_path: Path) -> None:
    """Every API process drains every spool file of the shared directory (docker-compose: one volume for all
    replicas). Process A's drain landing between process B's open and B's write took B's file away: B then
    wrote into the deleted file, answered 2xx, and the delivery was lost."""
    directory = tmp_path / "spool"
    drainer = Spool(directory)
    made: list[Spool] = []
    other = threading.Thread(target=lambda: made.append(_OtherProcessSpool(directory)))  # a file of its own
    other.start()
    other.join()
    writer = made[0]
    delivered: list[str] = []

    def accept(deliveries: list[inbox.Delivery]) -> None:
        delivered.extend(d.delivery_key for d in deliveries)

    writer.append([_delivery("k1")])
    _PausedAtOpen.meanwhile.append(lambda: drainer.drain(accept))
    writer.append([_delivery("k2")])  # answered 2xx once this returns
    assert not _PausedAtOpen.meanwhile  # the drain did land in the gap
    drainer.drain(accept)
    assert sorted(delivered) == ["k1", "k2"]
    assert not drainer.pending()


class _DiskFullHalfway:
    """A spool file that takes half of the next write, then reports the disk full."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def __enter__(self) -> _DiskFullHalfway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()

    def fileno(self) -> int:
        return int(self.handle.fileno())

    def write(self, data: Any) -> int:
        half = data[: len(data) // 2]
        self.handle.write(half if isinstance(data, str) else bytes(half))
        self.handle.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def flush(self) -> None:
        self.handle.flush()


class _FullDiskPath(type(Path())):  # type: ignore[misc]
    full = [True]

    def open(self, *args: Any, **kwargs: Any) -> Any:
        handle = super().open(*args, **kwargs)
        return _DiskFullHalfway(handle) if _FullDiskPath.full and _FullDiskPath.full.pop() else handle


class _FullDiskSpool(Spool):
    @property
    def current(self) -> Path:
        return _FullDiskPath(super().current)


def test_a_write_the_disk_cut_short_leaves_nothing_for_the_next_delivery_to_join(tmp_path: Path) -> None:
    """The first request gets a 503 (the disk is full half-way through its line); the next one is written,
    fsync'd and answered 2xx. Its line must not be glued to the half line before it, which the drain would
    drop as one torn line: a delivery answered 2xx, lost."""
    spool = _FullDiskSpool(tmp_path / "spool")
    with pytest.raises(SpoolUnavailable):
        spool.append([_delivery("refused")])
    spool.append([_delivery("accepted")])
    delivered: list[str] = []
    spool.drain(lambda deliveries: delivered.extend(d.delivery_key for d in deliveries))
    assert delivered == ["accepted"]
