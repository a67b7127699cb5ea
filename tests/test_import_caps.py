"""Route-specific body caps (issue 26 #4): a real monthly bill (over the edge's 1 MiB) imports through the API
and the web form; the import cap still refuses a larger body with 413, before it is read whole; every other
route keeps the 1 MiB cap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from starlette.types import ASGIApp, Message, Scope

from service.app.api.limits import API_IMPORT_PATH, WEB_IMPORT_PATH
from service.app.web.app import create_app
from service.core.db import session_scope
from service.core.models.cost import CostLine
from service.core.settings import Settings
from tests.factories import issue_token
from tests.fakes import RecordingWaker
from tests.focus_files import Charge, write_csv
from tests.helpers import make_settings
from tests.test_web import csrf_of, sign_in

MIB = 1024 * 1024
DAY = timedelta(days=1)
START = datetime(2026, 10, 1, tzinfo=UTC)


def big_bill(path: Path, *, over: int) -> tuple[Path, int]:
    """A FOCUS CSV of October's daily charges, one resource a row, larger than ``over`` bytes."""
    charges = [
        Charge(START + (i % 28) * DAY, 1.0, tags={"service": f"svc-{i % 5}"}, resource=f"i-{i:012x}")
        for i in range(over // 150 + 1)
    ]
    write_csv(path, charges)
    assert path.stat().st_size > over
    return path, len(charges)


def stored_total(settings: Settings) -> float:
    with session_scope(settings.database_url) as session:
        return float(sum(session.exec(select(CostLine.amount)).all()))


@pytest.fixture
def import_settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, import_dir=tmp_path / "imports")


@pytest.fixture
def app_client(import_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(import_settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        yield client


def test_a_bill_over_one_mib_imports_through_the_api_while_other_routes_keep_the_cap(
    app_client: TestClient, import_settings: Settings, tmp_path: Path
) -> None:
    assert import_settings.max_body_bytes == MIB
    path, rows = big_bill(tmp_path / "bill.csv", over=int(1.5 * MIB))
    admin = {"Authorization": f"Bearer {issue_token(import_settings, 'a', ['admin', 'ingest'])}"}

    answer = app_client.post(API_IMPORT_PATH, content=path.read_bytes(), headers=admin)

    assert answer.status_code == 201, answer.text
    assert answer.json()["rows"] == rows
    assert stored_total(import_settings) == pytest.approx(rows * 1.0)
    elsewhere = app_client.post("/webhooks/generic", content=path.read_bytes(), headers=admin)
    assert elsewhere.status_code == 413


def test_a_bill_over_one_mib_imports_through_the_web_form(
    app_client: TestClient, import_settings: Settings, tmp_path: Path
) -> None:
    path, rows = big_bill(tmp_path / "bill.csv", over=int(1.5 * MIB))
    assert sign_in(app_client, issue_token(import_settings, "a", ["admin"])).status_code == 303
    form = app_client.get(WEB_IMPORT_PATH)
    assert form.status_code == 200

    with path.open("rb") as handle:
        answer = app_client.post(
            WEB_IMPORT_PATH, data={"csrf": csrf_of(form.text)}, files={"file": ("october.csv", handle, "text/csv")}
        )

    assert answer.status_code == 200, answer.text
    assert f"Imported {rows:,} rows" in answer.text or f"Imported {rows} rows" in answer.text
    assert stored_total(import_settings) == pytest.approx(rows * 1.0)
    assert list((tmp_path / "imports").iterdir()) == []  # the spooled copy is gone


def test_the_web_form_needs_an_admin_and_its_csrf_token(
    app_client: TestClient, import_settings: Settings, tmp_path: Path
) -> None:
    path, _ = big_bill(tmp_path / "bill.csv", over=10_000)
    assert sign_in(app_client, issue_token(import_settings, "r", ["read"])).status_code == 303
    assert app_client.get(WEB_IMPORT_PATH).status_code == 403
    app_client.cookies.clear()
    assert sign_in(app_client, issue_token(import_settings, "a", ["admin"])).status_code == 303
    with path.open("rb") as handle:
        forged = app_client.post(WEB_IMPORT_PATH, data={"csrf": "x"}, files={"file": ("b.csv", handle, "text/csv")})
    assert forged.status_code == 403
    assert stored_total(import_settings) == 0


PART_HEAD = b'--b\r\nContent-Disposition: form-data; name="file"; filename="bill.csv"\r\n\r\n'
"""A multipart body's first part header: what follows is the file."""


async def post_in_chunks(app: ASGIApp, path: str, token: str, *, chunk: int, total: int) -> tuple[int, int]:
    """POST ``total`` chunks to the app as a server would hand them over (no Content-Length); returns the
    status answered and how many body bytes the app pulled."""
    read = 0
    status = 0
    headers = [(b"authorization", f"Bearer {token}".encode()), (b"content-type", b"multipart/form-data; boundary=b")]
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "state": {},
    }

    async def receive() -> Message:
        nonlocal read
        if read >= chunk * total:
            return {"type": "http.disconnect"}
        body = (PART_HEAD if read == 0 else b"") + b"x" * chunk
        read += len(body)
        return {"type": "http.request", "body": body, "more_body": read < chunk * total}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status, read


@pytest.mark.parametrize("path", [API_IMPORT_PATH, WEB_IMPORT_PATH])
def test_a_body_over_the_import_cap_is_413_before_it_is_read_whole(
    database_url: str, tmp_path: Path, path: str
) -> None:
    settings = make_settings(database_url, tmp_path, import_dir=tmp_path / "imports", max_import_bytes=2 * MIB)
    token = issue_token(settings, "a", ["admin"])
    chunk, total = 256 * 1024, 64  # 16 MiB in 64 chunks, against a 2 MiB cap
    app = create_app(settings, waker=RecordingWaker())

    with TestClient(app, raise_server_exceptions=False) as client:
        declared = client.post(path, content=b"x" * (2 * MIB + 1), headers={"Authorization": f"Bearer {token}"})
        assert client.portal is not None
        status, read = client.portal.call(partial(post_in_chunks, app, path, token, chunk=chunk, total=total))

    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"
    assert status == 413
    assert 2 * MIB < read <= 2 * MIB + chunk  # stopped at the cap, not after all 16 MiB
    assert not (tmp_path / "imports").exists() or list((tmp_path / "imports").iterdir()) == []
