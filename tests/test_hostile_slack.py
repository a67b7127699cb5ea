"""Hostile input at the Slack edge, through the real HTTP route and a local stand-in for Slack's Web API
recording every call: nothing anyone types can ping a channel or disguise a link, a token cannot choose
where the bot posts, a forged request is refused before bolt logs it, and a Slack outage loses no report.
(Findings 1, 2, 3, 6, 7, 11 and 14 of issue 11.)"""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session, select

from integrations.slack.blocks import triage_message
from integrations.slack.client import sync_client
from integrations.slack.notifier import WebClientNotifier
from service.app.api.app import create_app
from service.core.db import get_engine
from service.core.models import FrictionReport, InboxEvent, SlackMessage
from service.core.settings import Settings
from service.figures.friction.categorise import configured_taxonomy
from tests.fakes import RecordingWaker
from tests.helpers import make_settings
from tests.slack_fake import FakeSlack, fake_slack
from tests.test_slack import (
    LEAD,
    REPORTER,
    SIGNING_SECRET,
    button,
    command,
    event,
    friction_form,
    interaction,
    lead_submits,
    reports,
    signed,
    wait_response,
    wait_until,
)
from workers.notify import notify_pending
from workers.process import drain

HOSTILE = "<!channel> <!here> <!subteam^S0PLATFORM> <@U0ADMIN> <https://evil.example|reset your SSO password> & co"
LIVE = re.compile(r"<([^>]*)>")


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with fake_slack() as fake:
        yield fake


def slack_settings(database_url: str, tmp_path: Path, api_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_signing_secret": SIGNING_SECRET,
        "slack_bot_token": "xoxb-test-token",
        "slack_api_url": api_url,
        "slack_triage_channel": "CTRIAGE",
        "slack_admins": [LEAD],
        **overrides,
    }
    return make_settings(database_url, tmp_path, **values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, slack: FakeSlack) -> Settings:
    return slack_settings(database_url, tmp_path, slack.url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, waker=RecordingWaker()), raise_server_exceptions=False) as test_client:
        yield test_client


def mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    """Every string Slack parses as mrkdwn in a message or view: the ``text`` fallback and mrkdwn objects."""
    found: list[str] = []
    if isinstance(message.get("text"), str):
        found.append(message["text"])

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks"))
    walk(message.get("view"))
    return found


def assert_nothing_live(message: dict[str, Any], *, allowed: frozenset[str] = frozenset()) -> None:
    for text in mrkdwn_texts(message):
        live = set(LIVE.findall(text)) - allowed
        assert not live, f"live markup {live} in {text!r}"


def test_hostile_text_reaches_every_slack_surface_escaped(
    client: TestClient, slack: FakeSlack, settings: Settings, admin_headers: dict[str, str]
) -> None:
    client.post("/slack/events", **command(slack, f"cold starts {HOSTILE}", trigger="t-file"))
    filed = wait_response(slack, "t-file")
    drain(settings)
    notify_pending(settings, WebClientNotifier(sync_client(settings)))
    [triage_post] = [p for p in slack.of("chat.postMessage") if p["channel"] == "CTRIAGE"]
    number = int(triage_post["text"].split("#")[1].split(":")[0])
    client.post("/slack/events", **command(slack, "list", trigger="t-list"))
    listed = wait_response(slack, "t-list")
    client.post(
        "/slack/events",
        **event({"type": "app_home_opened", "user": REPORTER, "channel": "D1", "tab": "home", "event_ts": "1"}),
    )
    [home] = slack.wait_for("views.publish")
    client.post("/slack/events", **interaction(button("triage_resolve", number, user=LEAD)))
    [opened] = slack.wait_for("views.open")
    note = {"type": "plain_text_input", "value": f"fixed; see {HOSTILE}"}
    client.post("/slack/events", **interaction(lead_submits(opened, "triage_resolve_modal", "note", note)))
    wait_until(lambda: client.get(f"/api/v1/friction/{number}", headers=admin_headers).json()["status"] == "resolved")
    notify_pending(settings, WebClientNotifier(sync_client(settings)))
    [resolution] = [p for p in slack.of("chat.postMessage") if p["channel"] == REPORTER]

    for message in (filed, triage_post, listed, home, resolution):
        assert_nothing_live(message, allowed=frozenset({f"@{REPORTER}"}))
    # The reporter, a Slack user id Slack sent, stays a live mention in the triage post; the text shows as typed.
    assert f"<@{REPORTER}>" in json.dumps(triage_post["blocks"])
    assert "&lt;!channel&gt;" in json.dumps(triage_post["blocks"])
    assert "&lt;!channel&gt;" in triage_post["text"]
    assert "&lt;https://evil.example|reset your SSO password&gt;" in json.dumps(resolution["blocks"])
    assert "&amp; co" in json.dumps(listed["blocks"])


def test_a_backtick_in_a_service_name_cannot_close_its_code_span(
    client: TestClient, slack: FakeSlack, settings: Settings
) -> None:
    form = friction_form("V0TICK", "the deploy hangs")
    service = "ml` <!here> `api"
    form["view"]["state"]["values"]["service"]["service"]["selected_option"]["value"] = service
    client.post("/slack/events", **interaction(form))
    [refusal] = slack.wait_for("chat.postMessage")
    drain(settings)
    notify_pending(settings, WebClientNotifier(sync_client(settings)))

    # Such a name is no service (service.core.identity): the report is refused and the reporter told, escaped.
    assert "was not filed" in refusal["text"]
    assert not [p for p in slack.of("chat.postMessage") if p["channel"] == "CTRIAGE"]
    for message in slack.of("chat.postMessage"):
        assert_nothing_live(message, allowed=frozenset())
    # And the builder keeps any stored name inside its code span (a name from before the identity rule).
    report = FrictionReport(id=7, text="x", service=service, category="other", category_source="rule", confidence=1.0)
    facts = triage_message(report, configured_taxonomy(settings))[1]["elements"][0]["text"]
    assert "service `mlˋ &lt;!here&gt; ˋapi`" in facts


def test_an_api_reporter_is_a_contact_never_a_channel_nor_someones_list(
    client: TestClient, slack: FakeSlack, settings: Settings, admin_headers: dict[str, str], session: Session
) -> None:
    spoofed = client.post(
        "/api/v1/friction", json={"text": "GPU quota took 3 days", "reporter": "C0GENERAL"}, headers=admin_headers
    ).json()["id"]
    as_someone = client.post(
        "/api/v1/friction", json={"text": "helm values are 600 lines", "reporter": REPORTER}, headers=admin_headers
    ).json()["id"]
    drain(settings)
    for number in (spoofed, as_someone):
        client.patch(f"/api/v1/friction/{number}", json={"status": "resolved"}, headers=admin_headers)
    notify_pending(settings, WebClientNotifier(sync_client(settings)))
    client.post("/slack/events", **command(slack, "list", trigger="t-list"))
    listed = wait_response(slack, "t-list")

    channels = {post["channel"] for post in slack.of("chat.postMessage")}
    assert channels == {"CTRIAGE"}  # no DM to "C0GENERAL", none to the claimed REPORTER
    assert "GPU quota" not in json.dumps(listed)
    assert "helm values" not in json.dumps(listed)
    triage_posts = json.dumps(slack.of("chat.postMessage"))
    assert "C0GENERAL (via the API)" in triage_posts
    stored = session.get(FrictionReport, spoofed)
    assert stored is not None
    assert (stored.reporter, stored.contact) == (None, "C0GENERAL")


def test_a_body_over_the_cap_is_refused_before_bolt_reads_it(
    client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture, session: Session
) -> None:
    caplog.set_level(logging.DEBUG)
    over = b"payload=" + b"A" * (settings.max_body_bytes + 1)
    declared = client.post("/slack/events", content=over, headers={"Content-Type": "application/x-www-form-urlencoded"})

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap must hold as bytes arrive
        for _ in range(4 * settings.max_body_bytes // 65536):
            yield b"B" * 65536

    streamed = client.post(
        "/slack/events", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert declared.status_code == streamed.status_code == 413
    assert declared.json()["error"]["code"] == streamed.json()["error"]["code"] == "payload_too_large"
    assert session.exec(select(InboxEvent)).all() == []
    assert len(caplog.text) < 10_000


def test_a_forged_request_is_401_in_the_envelope_and_its_body_never_logged(
    client: TestClient, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    marker = "QWERTYMARKER"
    big = command(slack, marker + "x" * 900_000)  # under the 1 MiB cap, so bolt would have seen it
    big["headers"]["X-Slack-Signature"] = "v0=" + "0" * 64

    forged = client.post("/slack/events", **big)
    bad_time = command(slack, "slow builds")
    bad_time["headers"]["X-Slack-Request-Timestamp"] = "abc"
    malformed = client.post("/slack/events", **bad_time)

    assert forged.status_code == malformed.status_code == 401
    assert forged.json()["error"]["field"] == "x-slack-signature"
    assert malformed.json()["error"] == {
        "code": "unauthorized",
        "message": "missing or malformed X-Slack-Request-Timestamp",
        "field": "x-slack-request-timestamp",
    }
    logged = caplog.text + " ".join(str(record.args) for record in caplog.records)
    assert marker not in logged
    assert len(logged) < 10_000  # the log does not grow by the body


def test_an_empty_signing_secret_or_one_without_a_bot_token_stops_start_up_naming_the_setting(
    database_url: str, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError, match="FRICTIONLOG_SLACK_SIGNING_SECRET is set but empty"):
        make_settings(database_url, tmp_path, slack_signing_secret="", slack_bot_token="xoxb-1")
    with pytest.raises(ValidationError, match="FRICTIONLOG_GITHUB_WEBHOOK_SECRET is set but empty"):
        make_settings(database_url, tmp_path, github_webhook_secret="  ")
    with pytest.raises(ValidationError, match="FRICTIONLOG_SLACK_BOT_TOKEN is not"):
        make_settings(database_url, tmp_path, slack_signing_secret="s3cret")


def closed_port_url() -> str:
    """The address of a port nobody listens on: Slack's API 'down' (connection refused, as in an outage)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"


def test_with_slacks_api_down_a_report_is_stored_and_its_number_sent_when_slack_is_back(
    database_url: str, tmp_path: Path, slack: FakeSlack, session: Session
) -> None:
    down = closed_port_url()
    settings = slack_settings(database_url, tmp_path, down)
    fields = {k: v[0] for k, v in parse_qs(command(slack, "GPU quota took 3 days")["content"].decode()).items()}
    fields["response_url"] = down.replace("/api/", "/respond/t-down")  # Slack's hooks are down too

    def deferred() -> list[SlackMessage]:
        session.rollback()  # a fresh snapshot
        return list(session.exec(select(SlackMessage)))

    with TestClient(create_app(settings, waker=RecordingWaker()), raise_server_exceptions=False) as down_client:
        answer = down_client.post("/slack/events", **signed(urlencode(fields), "application/x-www-form-urlencoded"))
        assert answer.status_code == 200
        wait_until(lambda: bool(deferred()))

    drain(settings)
    [report] = reports(session)
    back = slack_settings(database_url, tmp_path, slack.url)
    notify_pending(back, WebClientNotifier(sync_client(back)))

    dms = [p for p in slack.of("chat.postMessage") if p["channel"] == REPORTER]
    assert len(dms) == 1
    assert f"#{report.id}" in dms[0]["text"]
    assert slack.of("auth.test") == []  # nothing called Slack to authorise the request
    notify_pending(back, WebClientNotifier(sync_client(back)))
    assert len([p for p in slack.of("chat.postMessage") if p["channel"] == REPORTER]) == 1


def test_nothing_calls_slack_before_the_ack(client: TestClient, slack: FakeSlack) -> None:
    client.post("/slack/events", **command(slack, "Cold starts take 40 s", trigger="t1"))
    wait_response(slack, "t1")

    assert [name for name, _ in slack.calls] == ["respond/t1"]


def test_add_detail_anonymous_leaves_no_identity_in_the_report_the_inbox_or_the_outbox(
    client: TestClient, slack: FakeSlack, settings: Settings, session: Session
) -> None:
    client.post("/slack/events", **command(slack, "GPU quota took 3 days", trigger="t1"))
    wait_response(slack, "t1")
    drain(settings)
    [report] = reports(session)
    session.add(SlackMessage(channel=REPORTER, text=f"Your friction report was filed as #{report.id}."))
    session.commit()

    form = friction_form("V0DETAIL", "GPU quota took 3 days", metadata={"report": report.id}, anonymous=True)
    client.post("/slack/events", **interaction(form))
    wait_until(lambda: reports(session)[0].reporter is None)

    stored = session.exec(select(InboxEvent).where(InboxEvent.id == report.id)).one()
    assert REPORTER not in stored.body
    assert json.loads(stored.body)["anonymous"] is True
    assert session.exec(select(SlackMessage).where(SlackMessage.channel == REPORTER)).all() == []
    drain(settings)  # a rebuild from the inbox cannot bring the identity back
    assert reports(session)[0].reporter is None


def test_a_wont_fix_dm_is_not_a_celebration(client: TestClient, slack: FakeSlack, settings: Settings) -> None:
    client.post("/slack/events", **command(slack, "GPU quota took 3 days", trigger="t1"))
    wait_response(slack, "t1")
    drain(settings)
    notify_pending(settings, WebClientNotifier(sync_client(settings)))
    number = int(slack.of("chat.postMessage")[-1]["text"].split("#")[1].split(":")[0])

    client.post("/slack/events", **interaction(button("triage_wont_fix", number, user=LEAD)))
    [opened] = slack.wait_for("views.open")
    note = {"type": "plain_text_input", "value": "quotas stay manual this quarter"}
    client.post("/slack/events", **interaction(lead_submits(opened, "triage_resolve_modal", "note", note)))
    wait_until(lambda: reports_closed(settings))
    notify_pending(settings, WebClientNotifier(sync_client(settings)))

    [dm] = [p for p in slack.of("chat.postMessage") if p["channel"] == REPORTER]
    first = dm["blocks"][0]["text"]["text"]
    assert not first.startswith(":tada:")
    assert ":tada:" not in json.dumps(dm)
    assert "won't fix" in dm["text"]
    assert "quotas stay manual this quarter" in json.dumps(dm["blocks"])


def reports_closed(settings: Settings) -> bool:
    with Session(get_engine(settings.database_url)) as fresh:
        return fresh.exec(select(FrictionReport.status)).first() == "wont_fix"


def test_slacks_ssl_check_is_answered_without_a_signature(client: TestClient) -> None:
    probe = client.post(
        "/slack/events", content=b"ssl_check=1&token=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    unsigned = client.post(
        "/slack/events", content=b"command=%2Ffriction", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert probe.status_code == 200
    assert unsigned.status_code == 401
