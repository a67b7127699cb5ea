"""Hostile input is stored as data, never executed or mangled, and never a 500."""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from service.app.api.app import create_app
from service.app.api.security import RedactSecrets, redact
from service.app.cli import main
from service.core.db import session_scope
from service.core.models import Deployment, FrictionReport, InboxEvent, Incident, SlackMessage
from service.core.settings import Settings, get_settings
from service.core.tabular import write_csv
from service.ingest import inbox
from service.migrations import upgrade
from tests.factories import T0, iso, issue_token, make_deployment, make_incident
from tests.fakes import RecordingWaker
from tests.helpers import make_settings
from tests.vendors import OPSGENIE_TOKEN
from workers.process import drain

NASTY = [
    "'; DROP TABLE deployment; --",
    '" OR 1=1 --',
    "x'); DELETE FROM inbox_event WHERE ('1'='1",
    "<script>alert('x')</script>",
    "Robert'); DROP TABLE friction_report;--",
    "名前 ☃ \u202e reversed",
]


def all_set(values: Sequence[str | None]) -> list[str]:
    """A nullable column's values where every row set it (a None fails the test)."""
    assert None not in values
    return [value for value in values if value is not None]


def test_sql_looking_strings_in_every_text_field_are_just_text(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    for n, text in enumerate(NASTY):
        deployment = make_deployment(
            f"{text}-{n}", service=f"svc{n}", environment=text[:60], version=text[:120], repository=text[:200], url=text
        )
        incident = make_incident(
            f"i-{n}-{text}", service=f"svc{n}", started_at=T0 + timedelta(hours=n), title=text, severity=text[:30]
        )
        friction = {"text": f"{text} is slow", "service": f"svc{n}", "reporter": text[:60]}
        assert client.post("/webhooks/generic", json=deployment, headers=admin_headers).status_code == 202
        assert client.post("/webhooks/generic", json=incident, headers=admin_headers).status_code == 202
        assert client.post("/api/v1/friction", json=friction, headers=admin_headers).status_code == 202
        assert client.get("/api/v1/friction", params={"category": text[:60]}, headers=admin_headers).status_code == 200
        # Not a service name (422) or no such service (404), naming the field: never run as SQL.
        filtered = client.get("/api/v1/metrics/dora", params={"service": text[:100]}, headers=admin_headers)
        assert filtered.status_code in (404, 422)
        assert filtered.json()["error"]["field"] == "service"
    drain(settings)

    session.rollback()
    assert session.exec(select(func.count()).select_from(InboxEvent)).one() == 3 * len(NASTY)
    assert sorted(all_set(session.exec(select(Deployment.version)).all())) == sorted(t[:120] for t in NASTY)
    assert sorted(all_set(session.exec(select(Incident.title)).all())) == sorted(NASTY)
    assert sorted(session.exec(select(FrictionReport.text)).all()) == sorted(f"{t} is slow" for t in NASTY)


# --- Issue 11: what an attacker or an unlucky operator sends, through the real HTTP path ---------------

FORMULAS = ['=HYPERLINK("https://evil.example","x")', "+SUM(A1:A9)", "-2+3+cmd|' /C calc'!A0", "@SUM(1)"]


def test_csv_cells_that_would_run_as_formulas_are_quoted_everywhere(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    for n, formula in enumerate([*FORMULAS, "\tTAB", "\rCR"]):
        body = {"text": f"{formula} slow", "service": f"svc{n}", "reporter": formula[:60]}
        assert client.post("/api/v1/friction", json=body, headers=admin_headers).status_code == 202
    client.put("/api/v1/services/svc0", json={"team": FORMULAS[0]}, headers=admin_headers)
    deployment = make_deployment("d-csv", service="svc0", environment="production", finished_at=T0)
    client.post("/webhooks/generic", json=deployment, headers=admin_headers)
    drain(settings)
    window = {"from": "2026-09-28", "to": "2026-10-12"}

    answers = {
        "friction": client.get("/api/v1/friction", params={"format": "csv"}, headers=admin_headers),
        "services": client.get("/api/v1/services", params={"format": "csv"}, headers=admin_headers),
        "events": client.get("/api/v1/events", params={"format": "csv"}, headers=admin_headers),
        "weekly": client.get(
            "/api/v1/metrics/weekly", params={**window, "group_by": "team", "format": "csv"}, headers=admin_headers
        ),
    }

    for name, response in answers.items():
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith("text/csv"), name
        cells = [cell for row in csv.reader(io.StringIO(response.text)) for cell in row]
        assert cells, name
        assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")], (name, cells)
        assert not [c for c in cells if c.startswith("-") and not _number(c)], (name, cells)
    friction_cells = response_cells(answers["friction"])
    assert f"'{FORMULAS[0]} slow" in friction_cells
    assert f"'{FORMULAS[2]} slow" in friction_cells
    assert f"'{FORMULAS[2]}"[:61] in friction_cells  # the contact column too
    # Tab and CR cannot arrive through the stripped text fields; the one writer quotes them all the same.
    written = write_csv([{"a": "\tx", "b": "\rx", "c": -3.5, "d": "-3.5", "e": "-x"}], "abcde")
    assert list(csv.reader(io.StringIO(written, newline="")))[1] == ["'\tx", "'\rx", "-3.5", "-3.5", "'-x"]
    assert f"'{FORMULAS[0]}" in response_cells(answers["weekly"])  # the team column


def response_cells(response: Any) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(response.text)) for cell in row]


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_format_csv_is_a_422_where_the_answer_is_not_a_table(client: TestClient, admin_headers: dict[str, str]) -> None:
    for path in (
        "/api/v1/metrics/dora",
        "/api/v1/metrics/friction",
        "/api/v1/events/stats",
        "/api/v1/digests/2026-W41",
    ):
        response = client.get(path, params={"format": "csv"}, headers=admin_headers)
        assert response.status_code == 422, path
        assert response.json()["error"]["field"] == "format", path


@pytest.mark.parametrize(
    ("method", "path"),
    [("PATCH", "/api/v1/friction/1"), ("PUT", "/api/v1/services/ml-api"), ("POST", "/api/v1/migrations")],
)
def test_admin_routes_check_the_token_before_the_body_and_cap_it(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, method: str, path: str
) -> None:
    no_token = client.request(method, path, content=b"{not json", headers={"Content-Type": "application/json"})
    wrong = client.request(
        method, path, content=b"{not json", headers={"Content-Type": "application/json", "Authorization": "Bearer x"}
    )
    huge = b'{"resolution_note": "' + b"x" * (52 * 1024 * 1024) + b'"}'
    declared = client.request(method, path, content=huge, headers={**admin_headers, "Content-Type": "application/json"})

    def chunks() -> Iterator[bytes]:
        yield b'{"team": "'
        for _ in range(3 * settings.max_body_bytes // 65536):
            yield b"y" * 65536
        yield b'"}'

    streamed = client.request(
        method, path, content=chunks(), headers={**admin_headers, "Content-Type": "application/json"}
    )

    assert (no_token.status_code, wrong.status_code) == (401, 401)
    assert no_token.json()["error"]["code"] == "unauthorized"
    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert streamed.json()["error"]["code"] == "payload_too_large"


def test_text_that_is_not_unicode_and_numbers_past_the_limit_are_400s(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    json_headers = {**admin_headers, "Content-Type": "application/json"}
    event = json.dumps(make_deployment("d-sur")).rstrip("}") + ', "note": "\\ud800"}'
    surrogate = client.post("/webhooks/generic", content=event.encode(), headers=json_headers)
    huge_int = client.post(
        "/webhooks/generic", content=b'{"type": "deployment", "n": ' + b"9" * 5000 + b"}", headers=json_headers
    )
    filed = client.post("/api/v1/friction", json={"text": "cold starts"}, headers=admin_headers).json()["id"]
    drain(settings)
    note = client.patch(f"/api/v1/friction/{filed}", content=b'{"resolution_note": "ok \\udfff"}', headers=json_headers)
    catalogue = client.put("/api/v1/services/ml-api", content=b'{"team": "\\ud83d"}', headers=json_headers)

    assert [r.status_code for r in (surrogate, huge_int)] == [400, 400]
    assert {note.status_code, catalogue.status_code} <= {400, 422}  # a clear 4xx in the envelope, never a 500
    assert "error" in note.json()
    assert "error" in catalogue.json()
    assert "surrogate" in surrogate.json()["error"]["message"]
    assert "4300" in huge_int.json()["error"]["message"]


def test_negative_durations_are_refused_naming_the_field(client: TestClient, admin_headers: dict[str, str]) -> None:
    backwards = make_deployment("d-neg", finished_at=T0, started_at=iso(T0 + timedelta(minutes=5)))
    unresolved = make_incident("i-neg", started_at=T0, resolved_at=iso(T0 - timedelta(hours=1)))
    acked = make_incident("i-ack", started_at=T0, acknowledged_at=iso(T0 - timedelta(minutes=1)))

    answers = [client.post("/webhooks/generic", json=e, headers=admin_headers) for e in (backwards, unresolved, acked)]

    assert [a.status_code for a in answers] == [422, 422, 422]
    assert [a.json()["error"]["field"] for a in answers] == ["finished_at", "resolved_at", "acknowledged_at"]


def test_a_vendors_incident_resolved_before_it_started_is_kept_and_flagged(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    """A vendor cannot be told its payload is wrong (it would drop the alert): kept, flagged, not in time
    to restore. (The generic form, whose sender we document, refuses it: the test above.)"""
    created_ms = int(T0.timestamp() * 1000)
    headers = {"X-Frictionlog-Token": OPSGENIE_TOKEN}
    for action, updated_ns in (("Create", None), ("Close", (created_ms - 3_600_000) * 1_000_000)):
        alert: dict[str, Any] = {
            "alertId": "og-back",
            "message": "lag",
            "tags": ["service:ledger"],
            "createdAt": created_ms,
            "details": {},
        }
        if updated_ns is not None:
            alert["updatedAt"] = updated_ns
        assert (
            client.post("/webhooks/opsgenie", json={"action": action, "alert": alert}, headers=headers).status_code
            == 202
        )
    drain(settings)

    dora = client.get("/api/v1/metrics/dora", params={"from": "2026-10-01", "to": "2026-10-10"}, headers=admin_headers)

    flagged = {w["code"]: w for w in dora.json()["warnings"]}
    assert flagged["incidents_resolved_before_started"]["count"] == 1
    assert flagged["incidents_resolved_before_started"]["examples"] == ["ledger"]
    assert dora.json()["time_to_restore"]["n"] == 0


def test_opsgenie_priority_may_be_a_number(client: TestClient, settings: Settings, session: Session) -> None:
    alert: dict[str, Any] = {
        "action": "Create",
        "alert": {
            "alertId": "og-num",
            "message": "ledger: replication lag",
            "tags": ["service:ledger"],
            "createdAt": 1_759_665_600_000,
            "priority": 3,
            "details": {},
        },
        "integrationName": "Frictionlog",
    }
    response = client.post("/webhooks/opsgenie", json=alert, headers={"X-Frictionlog-Token": OPSGENIE_TOKEN})
    drain(settings)

    assert response.status_code == 202
    session.rollback()
    assert session.exec(select(Incident.severity).where(Incident.external_id == "og-num")).one() == "P3"
    out_of_range = {**alert, "alert": {**alert["alert"], "alertId": "og-9", "priority": 9}}
    refused = client.post("/webhooks/opsgenie", json=out_of_range, headers={"X-Frictionlog-Token": OPSGENIE_TOKEN})
    assert refused.status_code == 422


def test_html_pages_carry_the_security_headers(client: TestClient, admin_headers: dict[str, str]) -> None:
    token = admin_headers["Authorization"].removeprefix("Bearer ")
    page = client.get("/digests/2026-W41", params={"token": token})

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert "content-security-policy" not in client.get("/healthz").headers


def test_tokens_are_redacted_from_every_log_line() -> None:
    lines = [
        '127.0.0.1:5000 - "GET /digests/2026-W41?token=fl_abc.DEF-123&audience=leaders HTTP/1.1" 200',
        "GET /x?access_token=s3cr3t",
        "Authorization: Bearer fl_live_token_value",
        "posting with xoxb-1234-abcd-EFGH",
        "GET /x?audience=leaders&signature=deadbeef",
    ]
    cleaned = [redact(line) for line in lines]

    for secret in ("fl_abc.DEF-123", "s3cr3t", "fl_live_token_value", "xoxb-1234-abcd-EFGH", "deadbeef"):
        assert not any(secret in line for line in cleaned), secret
    assert "audience=leaders" in cleaned[0]
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s "%s"', ("1.2.3.4", lines[0]), None)
    RedactSecrets().filter(record)
    assert "fl_abc" not in record.getMessage()


def fresh_sqlite(tmp_path: Path, **overrides: Any) -> Settings:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    upgrade(url)
    return make_settings(url, tmp_path, database_lock_timeout_seconds=0.3, **overrides)


def test_a_locked_sqlite_file_spools_ingest_instead_of_hanging_and_readyz_says_so(tmp_path: Path) -> None:
    settings = fresh_sqlite(tmp_path)
    headers = {"Authorization": f"Bearer {issue_token(settings, 'ci', ['ingest'])}"}
    holder = sqlite3.connect(settings.database_url.split("///", 1)[1], isolation_level=None, check_same_thread=False)
    released = threading.Event()

    def release() -> None:  # the other process finishes its long transaction, much later
        holder.execute("ROLLBACK")
        released.set()

    with TestClient(create_app(settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        client.post("/webhooks/generic", json=make_deployment("warm-up"), headers=headers)  # the token is cached
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock (a backup, a sqlite3 shell)
        later = threading.Timer(15.0, release)
        later.start()
        try:
            spooled = client.post("/webhooks/generic", json=make_deployment("d-locked"), headers=headers)
            answered_while_locked = not released.is_set()
            ready = client.get("/readyz")
        finally:
            later.cancel()
            if not released.is_set():
                release()
            holder.close()
        client.app.state.frictionlog.spool.drain(lambda deliveries: _accept(settings, deliveries))  # type: ignore[attr-defined]

    assert answered_while_locked  # it did not wait for the lock (before: up to 30 s, then it wrote)
    assert (spooled.status_code, spooled.json()["id"]) == (202, None)
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"].startswith("locked")
    assert ready.json()["spool"]["deliveries"] == 1
    with session_scope(settings.database_url) as session:
        keys = set(session.exec(select(InboxEvent.delivery_key)))
    assert len(keys) == 2  # the spooled delivery reached the inbox once the lock was gone


def _accept(settings: Settings, deliveries: list[Any]) -> None:
    with session_scope(settings.database_url, write=True) as session:
        inbox.accept(session, deliveries)


def test_the_spool_is_bounded_and_its_depth_is_exported(tmp_path: Path) -> None:
    settings = fresh_sqlite(tmp_path, spool_max_bytes=3_000)
    headers = {"Authorization": f"Bearer {issue_token(settings, 'ci', ['ingest'])}"}
    holder = sqlite3.connect(settings.database_url.split("///", 1)[1], isolation_level=None)
    with TestClient(create_app(settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        client.post("/webhooks/generic", json=make_deployment("warm-up"), headers=headers)
        holder.execute("BEGIN IMMEDIATE")
        try:
            codes = [
                client.post("/webhooks/generic", json=make_deployment(f"d-{n}"), headers=headers).status_code
                for n in range(12)
            ]
            exposition = client.get("/metrics").text
        finally:
            holder.execute("ROLLBACK")
            holder.close()

    accepted = codes.count(202)
    assert 0 < accepted < 12
    assert set(codes[accepted:]) == {503}  # once full, refused (the sender retries), never written past the cap
    assert sum(path.stat().st_size for path in (tmp_path / "spool").glob("spool-*")) <= 3_000
    assert f"frictionlog_spool_deliveries {float(accepted)}" in exposition
    assert "frictionlog_spool_bytes " in exposition


def test_a_reporter_is_forgotten_everywhere_by_the_cli_and_the_api(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, session: Session, database_url: str
) -> None:
    person, other = "U0FORGETME", "U0STAYS"
    first = client.post("/api/v1/friction", json={"text": "GPU quota", "reporter": person}, headers=admin_headers)
    second = client.post("/api/v1/friction", json={"text": "helm values", "reporter": person}, headers=admin_headers)
    kept = client.post("/api/v1/friction", json={"text": "slow CI", "reporter": other}, headers=admin_headers)
    drain(settings)
    pending = client.post("/api/v1/friction", json={"text": "cold start", "reporter": person}, headers=admin_headers)
    with session_scope(settings.database_url, write=True) as write:
        write.add(SlackMessage(channel=person, text="Your friction report was filed as #1."))
        write.commit()

    forgotten = client.delete(f"/api/v1/reporters/{person}", headers=admin_headers)
    get_settings.cache_clear()
    cli = CliRunner(env={"FRICTIONLOG_DATABASE_URL": database_url, "FRICTIONLOG_BROKER_URL": ""})
    httpx_level = logging.getLogger("httpx").level
    try:
        again = cli.invoke(main, ["reporters", "forget", other], catch_exceptions=False)
    finally:  # the CLI configures logging for the process: leave it as other tests expect it
        logging.getLogger("httpx").setLevel(httpx_level)
        get_settings.cache_clear()
    drain(settings)

    assert forgotten.json() == {"reports": 2, "inbox_rows": 3, "outbox": 1}
    assert again.exit_code == 0
    assert "1 reports now anonymous" in again.stdout
    session.rollback()
    bodies = " ".join(session.exec(select(InboxEvent.body)))
    assert person not in bodies
    assert other not in bodies
    rows = session.exec(select(FrictionReport).order_by(FrictionReport.id)).all()  # type: ignore[arg-type]
    assert [r.id for r in rows] == [r.json()["id"] for r in (first, second, kept, pending)]  # kept, anonymous
    assert {(r.reporter, r.contact) for r in rows} == {(None, None)}
    assert session.exec(select(SlackMessage)).all() == []


NUL = "a\x00b"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field"),
    [
        ("PUT", "/api/v1/services/ml-api", {"json": {"team": NUL}}, "team"),
        ("POST", "/api/v1/migrations", {"json": {"name": NUL, "from_platform": "a", "to_platform": "b"}}, "name"),
        ("GET", "/api/v1/metrics/weekly", {"params": {"team": NUL}}, "team"),
        ("POST", "/webhooks/generic", {"json": make_deployment(service="ml-api", version=NUL)}, "version"),
        ("POST", "/webhooks/generic", {"json": [make_deployment(), make_deployment("d-2", title=NUL)]}, "1.title"),
        ("POST", "/api/v1/friction", {"json": {"text": "x" + NUL}}, "text"),
    ],
)
def test_a_nul_character_anywhere_is_a_422_naming_the_field_and_the_connection_lives_on(
    client: TestClient, admin_headers: dict[str, str], method: str, path: str, kwargs: dict[str, Any], field: str
) -> None:
    """PostgreSQL stores no NUL: refused at the edge on both backends, never a 500 (nor a reset connection)."""
    answer = client.request(method, path, headers=admin_headers, **kwargs)

    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field
    assert client.get("/api/v1/services", headers=admin_headers).status_code == 200


def test_a_nul_in_a_web_form_field_is_a_422_naming_it(client: TestClient) -> None:
    form = "team=core&tier=a%00b"
    answer = client.post(
        "/services/ml-api",
        content=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == "tier"


def test_a_nul_in_a_focus_cell_is_a_422_naming_row_and_column(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    header = "ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,BillingCurrency,ServiceName,Tags"
    row = "2026-10-05T00:00:00Z,2026-10-06T00:00:00Z,1,1,USD,EC2\x00,{}"
    answer = client.post(
        "/api/v1/cost/imports",
        params={"filename": "bill.csv"},
        content=f"{header}\n{row}\n".encode(),
        headers=admin_headers,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == "1.ServiceName"  # row 1, the column


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_time_outside_the_years_utc_can_hold_is_a_422_not_a_500(
    client: TestClient, admin_headers: dict[str, str], moment: str
) -> None:
    body = {"team": "core", "platforms": [{"platform": "new", "effective_from": moment}]}
    answer = client.put("/api/v1/services/ml-api", json=body, headers=admin_headers)
    assert answer.status_code == 422, answer.text
    assert "effective_from" in answer.json()["error"]["field"]
