"""The edge validates without building records (issue 24): it refuses and ignores what the parser would,
and the records are built once, by the worker, from the stored body."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from integrations import forge, generic, github, registry
from integrations.config import IntegrationConfig
from integrations.payload import vendor_time
from integrations.signatures import hmac_hex, verify_github
from service.core.errors import InvalidInput
from service.core.records import Ignored, InboxMeta
from service.core.timeutil import parse_timestamp, utcnow
from service.ingest.inbox import content_key
from tests.factories import T0, make_deployment, sha
from tests.vendors import gh_commit, gh_deployment, gh_deployment_status, gh_push, github_request
from workers.embedded import BUSY_RATE, BUSY_WAITING, busy_pause, ingest_pause
from workers.process import BETWEEN_HELD_BATCHES_SECONDS


def _without(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    """A copy of ``payload`` with the field at ``path`` removed."""
    copy: dict[str, Any] = {**payload}
    inner = copy
    for key in path[:-1]:
        inner[key] = {**inner[key]}
        inner = inner[key]
    del inner[path[-1]]
    return copy


PUSH = gh_push("main", [gh_commit(sha(n), T0 - timedelta(minutes=n)) for n in range(3)])
STATUS = gh_deployment_status(7, sha(1), "success", T0, created=T0 - timedelta(minutes=5))
PAYLOADS: list[tuple[str, Any]] = [
    ("push", PUSH),
    ("push", {**PUSH, "ref": "refs/tags/v1"}),
    ("push", {**PUSH, "deleted": True}),
    ("push", {**PUSH, "commits": []}),
    ("push", {**PUSH, "commits": [{**PUSH["commits"][0], "id": "not-a-sha"}]}),
    ("push", {**PUSH, "commits": [{**PUSH["commits"][0], "timestamp": "yesterday"}]}),
    ("push", _without(PUSH, "repository")),
    ("push", []),
    ("deployment", {"deployment": gh_deployment(7, sha(1), T0), "repository": PUSH["repository"]}),
    ("deployment", {"deployment": _without(gh_deployment(7, sha(1), T0), "sha"), "repository": PUSH["repository"]}),
    ("deployment_status", STATUS),
    ("deployment_status", gh_deployment_status(7, sha(1), "inactive", T0)),
    ("deployment_status", gh_deployment_status(7, sha(1), "pending", T0)),
    ("deployment_status", _without(STATUS, "deployment_status", "created_at")),
]


def _outcome(run: Any) -> tuple[str, str | None]:
    try:
        result = run()
    except InvalidInput as exc:
        return "invalid", f"{exc.field}: {exc.message}"
    if isinstance(result, Ignored):
        return "ignored", result.reason
    return "records" if isinstance(result, list) else "kept", None


@pytest.mark.parametrize(("event", "payload"), PAYLOADS)
def test_the_edge_check_refuses_and_ignores_what_the_parser_does(event: str, payload: Any) -> None:
    config = IntegrationConfig()
    meta = InboxMeta(id=1, event_type=event, delivery_key="d", received_at=T0)
    check = registry.EDGE_CHECKS[github.SOURCE][event]

    parsed = _outcome(lambda: github.parse(meta, payload, config))
    checked = _outcome(lambda: check(payload, config))

    assert checked == (parsed if parsed[0] != "records" else ("kept", None))


def test_a_github_push_is_accepted_without_building_its_records(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> object:
        raise AssertionError("records built at the edge")

    monkeypatch.setattr(forge, "pushed_changes", refuse)

    response = client.post("/webhooks/github", **github_request("push", PUSH))

    assert response.status_code == 202, response.text


def test_a_generic_event_is_accepted_without_building_its_records(
    client: TestClient, ingest_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> object:
        raise AssertionError("records built at the edge")

    monkeypatch.setattr(generic, "records", refuse)
    deployment = make_deployment("d-1", service="api", commits=[(sha(1), T0 - timedelta(hours=1))])

    response = client.post("/webhooks/generic", json=deployment, headers=ingest_headers)

    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"status": "success", "finished_at": None}, "finished_at"),
        ({"type": "measurement", "id": "m", "service": "api", "metric": "m", "value": 1.0}, "at"),
    ],
)
def test_the_rules_past_the_schema_are_checked_by_validate(event: dict[str, Any], field: str) -> None:
    value = {**make_deployment("d-1", service="api"), **event}
    if value["type"] == "measurement":
        value = event

    with pytest.raises(InvalidInput) as refused:
        generic.validate(value)

    assert refused.value.field == field


def test_a_time_past_two_days_ahead_is_refused_after_one_within_them() -> None:
    soon = (utcnow() + timedelta(days=1)).isoformat()
    later = (utcnow() + timedelta(days=3)).isoformat()

    assert parse_timestamp(soon, field="t") > datetime(2000, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        parse_timestamp(later, field="t")


def test_the_embedded_worker_yields_while_requests_pour_in_and_not_otherwise() -> None:
    pouring = ingest_pause(took_seconds=0.04, since_wake_seconds=0.01, rate=2 * BUSY_RATE, share=0.2)
    steady = ingest_pause(took_seconds=0.04, since_wake_seconds=0.01, rate=BUSY_RATE / 2, share=0.2)
    stopped = ingest_pause(took_seconds=0.04, since_wake_seconds=5.0, rate=2 * BUSY_RATE, share=0.2)
    never = ingest_pause(took_seconds=0.04, since_wake_seconds=0.01, rate=2 * BUSY_RATE, share=1.0)

    assert pouring == pytest.approx(busy_pause(0.04, 0.2))
    assert busy_pause(0.04, 0.2) == pytest.approx(0.16)  # 0.04 of every 0.2 s: a fifth of the time
    assert steady == stopped == never == BETWEEN_HELD_BATCHES_SECONDS


def test_requests_piling_up_at_the_inbox_writer_make_the_embedded_worker_yield_at_any_rate() -> None:
    """A worker that holds the process slows the answers below ``BUSY_RATE``: the rate would call ingest idle
    and the stall would last. Requests waiting for the writer say it is busy."""
    stalled = ingest_pause(0.04, since_wake_seconds=0.01, rate=BUSY_RATE / 2, share=0.2, waiting=BUSY_WAITING)
    trickle = ingest_pause(0.04, since_wake_seconds=0.01, rate=BUSY_RATE / 2, share=0.2, waiting=1)

    assert stalled == pytest.approx(busy_pause(0.04, 0.2))
    assert trickle == BETWEEN_HELD_BATCHES_SECONDS


class _Spelled(str):
    """A str subclass: ``parse_timestamp`` reads it by the full path only (the quick one takes exact str)."""


@pytest.mark.parametrize(
    "text",
    [
        "2026-10-05T11:52:00Z",
        "2026-10-05T11:52:00.123456Z",
        "2026-10-05T11:52:00.1234567Z",
        "2026-10-05T11:52:00+02:00",
        "2026-10-05T11:52:00-0930",
        "2026-10-05T11:52:00z",
        "2026-10-05 11:52:00Z",
        "20261005T115200Z",
        "2026-W40-1T00:00Z",
        " 2026-10-05T11:52:00Z",
        "2026-10-05T11:52:00+02:00\n",
        "2026-10-05T11:52:00",
        "2026-10-05",
        "2026-10-05Z",
        "2026-02-30T00:00:00Z",
        "2026-10-05T24:00:00Z",
        "2026-10-05T11:52:00+24:00",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-05:00",
        "1999-12-31T23:59:59Z",
        "2999-01-01T00:00:00Z",
        "1700000000",
        "last tuesday",
    ],
)
def test_the_quick_reading_of_a_timestamp_answers_what_the_full_one_does(text: str) -> None:
    def outcome(value: str) -> object:
        try:
            parsed = parse_timestamp(value, field="t")
        except InvalidInput as exc:
            return exc.field, exc.message
        return parsed, parsed.tzinfo

    def read_by(reader: Any, value: str) -> object:
        try:
            parsed = reader(value)
        except ValueError as exc:
            return str(exc)
        return parsed, parsed.tzinfo

    assert outcome(text) == outcome(_Spelled(text))
    assert read_by(vendor_time, text) == read_by(vendor_time, _Spelled(text))
    assert read_by(generic._timestamp, text) == read_by(generic._timestamp, _Spelled(text))


@pytest.mark.parametrize("size", [0, 1, 2046, 2047, 2048, 4094, 10_000, 100_003])
def test_hashes_fed_in_pieces_are_the_hashes_of_the_whole(size: int) -> None:
    body = bytes(range(256)) * (size // 256) + bytes(size % 256)
    key, secret = b"bench-secret", SecretStr("bench-secret")

    assert (
        content_key("generic", "deployment", body)
        == "sha256:" + hashlib.sha256(b"generic\0deployment\0" + body).hexdigest()
    )
    assert hmac_hex(key, body) == hmac.new(key, body, hashlib.sha256).hexdigest()
    assert hmac_hex(key, body, "sha1") == hmac.new(key, body, hashlib.sha1).hexdigest()
    signature = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    verify_github({"x-hub-signature-256": signature}, body, secret)
