"""The Slack app through the real HTTP route: requests signed exactly as Slack signs them, and a local
server standing in for Slack's Web API (the real slack_sdk client is pointed at it)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from integrations.slack.client import sync_client
from integrations.slack.notifier import WebClientNotifier
from service.app.api.app import create_app
from service.core.models import FrictionReport, InboxEvent
from service.core.settings import Settings
from tests.fakes import RecordingWaker
from tests.helpers import make_settings
from tests.slack_fake import FakeSlack, fake_slack
from tests.vendors import slack_request
from workers.notify import notify_pending
from workers.process import drain

SIGNING_SECRET = "slack-signing-secret"
REPORTER, LEAD, BYSTANDER = "U024BE7LH", "U0LEAD", "U0NOBODY"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with fake_slack() as fake:
        yield fake


@pytest.fixture
def settings(database_url: str, tmp_path: Path, slack: FakeSlack) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        slack_signing_secret=SIGNING_SECRET,
        slack_bot_token="xoxb-test-token",
        slack_api_url=slack.url,
        slack_triage_channel="CTRIAGE",
        slack_admins=[LEAD],
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, waker=RecordingWaker())) as test_client:
        yield test_client


def signed(body: str, content_type: str, *, secret: str = SIGNING_SECRET, age: int = 0) -> dict[str, Any]:
    return slack_request(body, secret=secret, content_type=content_type, age=age)


def command(
    slack: FakeSlack, text: str, *, user: str = REPORTER, trigger: str = "13345224609.738474920.8088930838d88f008e0"
) -> dict[str, Any]:
    body = urlencode(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": "T0001",
            "team_domain": "acme",
            "channel_id": "C2147483705",
            "channel_name": "platform",
            "user_id": user,
            "user_name": "steve",
            "command": "/friction",
            "text": text,
            "api_app_id": "A123456",
            "response_url": slack.url.replace("/api/", f"/respond/{trigger}"),
            "trigger_id": trigger,
        }
    )
    return signed(body, "application/x-www-form-urlencoded")


def interaction(payload: dict[str, Any]) -> dict[str, Any]:
    base = {"team": {"id": "T0001", "domain": "acme"}, "api_app_id": "A123456", "token": "verification"}
    return signed(urlencode({"payload": json.dumps({**base, **payload})}), "application/x-www-form-urlencoded")


def event(payload: dict[str, Any], event_id: str = "Ev0PV52K21") -> dict[str, Any]:
    body = {
        "token": "t",
        "team_id": "T0001",
        "api_app_id": "A123456",
        "event": payload,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
    }
    return signed(json.dumps(body), "application/json")


def responses(slack: FakeSlack, trigger: str) -> list[dict[str, Any]]:
    return [body for name, body in slack.calls if name == f"respond/{trigger}"]


def wait_response(slack: FakeSlack, trigger: str = "13345224609.738474920.8088930838d88f008e0") -> dict[str, Any]:
    return slack.wait_for(f"respond/{trigger}")[-1]


def reports(session: Session) -> list[FrictionReport]:
    session.rollback()  # a fresh snapshot
    return list(session.exec(select(FrictionReport).order_by(FrictionReport.id)))  # type: ignore[arg-type]


def message_shortcut(slack: FakeSlack, text: str, ts: str) -> dict[str, Any]:
    """The "Report as friction" message shortcut's payload, on message ``1700000000.<ts>`` in #ml-platform."""
    stamp = f"1700000000.{ts}"
    return {
        "type": "message_action",
        "callback_id": "report_as_friction",
        "trigger_id": f"222.333.{ts}",
        "user": {"id": REPORTER, "name": "steve"},
        "channel": {"id": "C1", "name": "ml-platform"},
        "message_ts": stamp,
        "message": {"type": "message", "text": text, "ts": stamp, "user": "U9"},
        "response_url": slack.url.replace("/api/", "/respond/shortcut"),
    }


def test_friction_text_files_a_report_and_answers_with_its_number_and_why(
    client: TestClient, slack: FakeSlack, settings: Settings, session: Session
) -> None:
    response = client.post("/slack/events", **command(slack, "Cold starts take 40 s on ml-api"))

    assert response.status_code == 200
    reply = wait_response(slack)
    number = session.exec(select(InboxEvent.id).where(InboxEvent.source == "slack")).one()
    text = json.dumps(reply["blocks"])
    assert f"*#{number}*" in text
    assert "Cold starts and latency" in text
    assert "cold start" in text
    assert reply["response_type"] == "ephemeral"
    drain(settings)
    [report] = reports(session)
    assert (report.id, report.reporter, report.source, report.category) == (
        number,
        REPORTER,
        "slack",
        "cold_start_latency",
    )
    assert report.slack_channel == "C2147483705"


def test_a_report_naming_one_catalogued_service_or_alias_is_filed_under_it(
    client: TestClient, slack: FakeSlack, settings: Settings, session: Session, admin_headers: dict[str, str]
) -> None:
    for slug in ("ml-api", "checkout"):
        assert client.put(f"/api/v1/services/{slug}", json={"team": "growth"}, headers=admin_headers).is_success
    alias = client.put("/api/v1/services/ml-api/aliases", json={"alias": "inference"}, headers=admin_headers)
    assert alias.is_success, alias.text
    texts = {
        "cold starts take 40 s on ml-api": "ml-api",
        "the Inference service needs Helm values to deploy": "ml-api",  # an alias, any case
        "ml-apis are slow and ml-api-v2 too": None,  # not the name as a whole word
        "checkout waits on ml-api": None,  # two services: the reporter says which
        "nothing catalogued here": None,
    }
    for n, text in enumerate(texts):
        assert client.post("/slack/events", **command(slack, text, trigger=f"1.2.{n}")).status_code == 200
    drain(settings)

    filed = {r.text: r.service for r in reports(session)}
    assert filed == texts


def test_a_retried_command_files_one_report(
    client: TestClient, slack: FakeSlack, settings: Settings, session: Session
) -> None:
    first = command(slack, "GPU quota request took 3 days")
    retry = command(slack, "GPU quota request took 3 days")
    retry["headers"]["X-Slack-Retry-Num"] = "1"

    client.post("/slack/events", **first)
    client.post("/slack/events", **retry)
    slack.wait_for("respond/13345224609.738474920.8088930838d88f008e0", count=2)
    drain(settings)

    assert len(reports(session)) == 1


@pytest.mark.parametrize(
    "tamper",
    ["wrong_secret", "stale", "no_signature", "body_changed"],
)
def test_unsigned_stale_or_tampered_requests_are_401(
    client: TestClient, slack: FakeSlack, session: Session, tamper: str
) -> None:
    request = command(slack, "slow builds")
    if tamper == "wrong_secret":
        request = signed(request["content"].decode(), "application/x-www-form-urlencoded", secret="github-secret")
    elif tamper == "stale":
        request = signed(request["content"].decode(), "application/x-www-form-urlencoded", age=6 * 60)
    elif tamper == "no_signature":
        del request["headers"]["X-Slack-Signature"]
    else:
        request["content"] = request["content"].replace(b"slow+builds", b"fast+builds")

    response = client.post("/slack/events", **request)

    assert response.status_code == 401
    assert session.exec(select(InboxEvent)).all() == []


def test_friction_alone_opens_the_form_with_the_catalogue(
    client: TestClient, slack: FakeSlack, admin_headers: dict[str, str]
) -> None:
    client.put("/api/v1/services/ml-api", json={"team": "growth"}, headers=admin_headers)

    client.post("/slack/events", **command(slack, ""))

    [opened] = slack.wait_for("views.open")
    assert opened["trigger_id"] == "13345224609.738474920.8088930838d88f008e0"
    view = opened["view"]
    assert view["callback_id"] == "friction_modal"
    service_select = next(b for b in view["blocks"] if b["block_id"] == "service")["element"]
    assert [o["value"] for o in service_select["options"]] == ["ml-api"]


def test_the_shortcut_form_starts_on_the_service_its_message_names(
    client: TestClient, slack: FakeSlack, admin_headers: dict[str, str]
) -> None:
    for slug in ("ml-api", "checkout"):
        client.put(f"/api/v1/services/{slug}", json={"team": "growth"}, headers=admin_headers)
    client.post("/slack/events", **interaction(message_shortcut(slack, "cold starts on ml-api again", "000200")))

    [opened] = slack.wait_for("views.open")
    service = next(b for b in opened["view"]["blocks"] if b["block_id"] == "service")["element"]
    assert service["initial_option"]["value"] == "ml-api"


def test_help_and_list(client: TestClient, slack: FakeSlack, settings: Settings) -> None:
    client.post("/slack/events", **command(slack, "Flaky integration tests block the merge queue", trigger="t-file"))
    slack.wait_for("respond/t-file")
    drain(settings)

    client.post("/slack/events", **command(slack, "help", trigger="t-help"))
    client.post("/slack/events", **command(slack, "list", trigger="t-list"))

    assert "/friction list" in wait_response(slack, "t-help")["text"]
    listed = json.dumps(wait_response(slack, "t-list")["blocks"])
    assert "Flaky integration tests" in listed


def friction_form(
    view_id: str, text: str, *, metadata: dict[str, Any] | None = None, anonymous: bool = False
) -> dict[str, Any]:
    flags = [{"value": "blocking", "text": {"type": "plain_text", "text": "b"}}]
    if anonymous:
        flags.append({"value": "anonymous", "text": {"type": "plain_text", "text": "a"}})
    return {
        "type": "view_submission",
        "user": {"id": REPORTER, "username": "steve", "team_id": "T0001"},
        "trigger_id": "12345.98765.abcd",
        "view": {
            "id": view_id,
            "type": "modal",
            "callback_id": "friction_modal",
            "private_metadata": json.dumps(metadata or {"channel": "C2147483705"}),
            "hash": "156772938.1827394",
            "state": {
                "values": {
                    "what": {"text": {"type": "plain_text_input", "value": text}},
                    "service": {
                        "service": {
                            "type": "static_select",
                            "selected_option": {"value": "ml-api", "text": {"type": "plain_text", "text": "ml-api"}},
                        }
                    },
                    "minutes": {"minutes": {"type": "number_input", "value": "90"}},
                    "impact": {
                        "impact": {
                            "type": "static_select",
                            "selected_option": {"value": "4", "text": {"type": "plain_text", "text": "4"}},
                        }
                    },
                    "frequency": {
                        "frequency": {
                            "type": "static_select",
                            "selected_option": {"value": "daily", "text": {"type": "plain_text", "text": "daily"}},
                        }
                    },
                    "flags": {"flags": {"type": "checkboxes", "selected_options": flags}},
                }
            },
        },
    }


def test_the_form_files_a_report_once_however_often_it_is_submitted(
    client: TestClient, slack: FakeSlack, settings: Settings, session: Session
) -> None:
    for _ in range(2):
        assert (
            client.post("/slack/events", **interaction(friction_form("V0PKB1ZFV", "Cold starts take 40 s"))).status_code
            == 200
        )
    slack.wait_for("chat.postMessage", count=2)
    drain(settings)

    [report] = reports(session)
    assert (report.service, report.minutes_lost, report.impact, report.frequency, report.blocking) == (
        "ml-api",
        90,
        4,
        "daily",
        True,
    )
    dm = slack.of("chat.postMessage")[0]
    assert dm["channel"] == REPORTER
    assert f"#{report.id}" in dm["text"]


def test_an_anonymous_form_stores_no_identity(
    client: TestClient, slack: FakeSlack, settings: Settings, session: Session
) -> None:
    client.post("/slack/events", **interaction(friction_form("V0ANON", "GPU quota took 3 days", anonymous=True)))
    slack.wait_for("chat.postMessage")
    drain(settings)

    [report] = reports(session)
    assert report.reporter is None
    stored = session.exec(select(InboxEvent)).one()
    assert REPORTER not in stored.body


def test_an_empty_form_is_refused_in_the_form(client: TestClient, session: Session) -> None:
    response = client.post("/slack/events", **interaction(friction_form("V0EMPTY", " ")))

    assert response.json() == {
        "response_action": "errors",
        "errors": {"what": "Tell us a little more (3 characters at least)."},
    }
    assert session.exec(select(InboxEvent)).all() == []


def test_the_message_shortcut_prefills_the_form_and_keeps_the_permalink(
    client: TestClient, slack: FakeSlack, settings: Settings, session: Session
) -> None:
    client.post("/slack/events", **interaction(message_shortcut(slack, "the deploy took 2 hours again :(", "000100")))
    [opened] = slack.wait_for("views.open")
    what = next(b for b in opened["view"]["blocks"] if b["block_id"] == "what")
    assert what["element"]["initial_value"] == "the deploy took 2 hours again :("
    service = next(b for b in opened["view"]["blocks"] if b["block_id"] == "service")["element"]
    assert "initial_option" not in service  # the text names no catalogued service
    metadata = json.loads(opened["view"]["private_metadata"])
    client.post(
        "/slack/events", **interaction(friction_form("V0SHORT", "the deploy took 2 hours again", metadata=metadata))
    )
    slack.wait_for("chat.postMessage")
    drain(settings)

    assert slack.of("chat.getPermalink")[0]["message_ts"] == "1700000000.000100"
    [report] = reports(session)
    assert report.permalink == "https://acme.slack.com/archives/C1/p1700000000000100"
    assert report.slack_channel == "C1"


def test_app_home_shows_my_reports_and_the_weeks_themes(
    client: TestClient, slack: FakeSlack, settings: Settings
) -> None:
    client.post("/slack/events", **command(slack, "Cold starts take 40 s on ml-api", trigger="t1"))
    slack.wait_for("respond/t1")
    drain(settings)

    client.post(
        "/slack/events",
        **event({"type": "app_home_opened", "user": REPORTER, "channel": "D1", "tab": "home", "event_ts": "1"}),
    )

    [published] = slack.wait_for("views.publish")
    assert published["user_id"] == REPORTER
    text = json.dumps(published["view"])
    assert "Cold starts take 40 s on ml-api" in text
    assert "Cold starts and latency" in text


def button(
    action_id: str, report: int, *, user: str, block: str | None = None, option: str | None = None
) -> dict[str, Any]:
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block or f"triage:{report}",
        "type": "button",
        "value": str(report),
        "action_ts": "1700000001.000",
    }
    if option is not None:
        action = {
            **action,
            "type": "static_select",
            "selected_option": {"value": option, "text": {"type": "plain_text", "text": option}},
        }
        action.pop("value")
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "x", "team_id": "T0001"},
        "trigger_id": "444.555.aaaa",
        "response_url": "",
        "container": {"type": "message", "channel_id": "CTRIAGE", "message_ts": "1700000000.000100"},
        "channel": {"id": "CTRIAGE", "name": "friction-triage"},
        "actions": [action],
    }


def lead_submits(opened: dict[str, Any], callback: str, block: str, element: dict[str, Any]) -> dict[str, Any]:
    """A lead's submission of the modal the app opened (its metadata comes back as Slack sends it)."""
    return {
        "type": "view_submission",
        "user": {"id": LEAD, "team_id": "T0001"},
        "view": {
            "id": f"V0{callback.upper()[:8]}",
            "type": "modal",
            "callback_id": callback,
            "private_metadata": opened["view"]["private_metadata"],
            "state": {"values": {block: {block: element}}},
        },
    }


def wait_until(condition: Any, timeout: float = 10.0) -> None:
    """Listeners run after ack(): poll, with a deadline, for their effect."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the listener's effect never appeared")
        time.sleep(0.02)


def file_and_post_to_triage(client: TestClient, slack: FakeSlack, settings: Settings, text: str, trigger: str) -> int:
    client.post("/slack/events", **command(slack, text, trigger=trigger))
    slack.wait_for(f"respond/{trigger}")
    drain(settings)
    notify_pending(settings, WebClientNotifier(sync_client(settings)))
    posted = slack.of("chat.postMessage")[-1]
    assert posted["channel"] == "CTRIAGE"
    return int(posted["text"].split("#")[1].split(":")[0])


def test_new_reports_reach_the_triage_channel_once(client: TestClient, slack: FakeSlack, settings: Settings) -> None:
    number = file_and_post_to_triage(client, slack, settings, "GPU quota took 3 days", "t1")
    notify_pending(settings, WebClientNotifier(sync_client(settings)))

    posts = [p for p in slack.of("chat.postMessage") if p["channel"] == "CTRIAGE"]
    assert len(posts) == 1
    actions = next(b for b in posts[0]["blocks"] if b["type"] == "actions")
    assert actions["block_id"] == f"triage:{number}"
    assert {e["action_id"] for e in actions["elements"]} == {
        "triage_acknowledge",
        "triage_resolve",
        "triage_wont_fix",
        "triage_duplicate",
        "triage_category",
    }


def test_only_leads_may_triage(client: TestClient, slack: FakeSlack, settings: Settings, session: Session) -> None:
    number = file_and_post_to_triage(client, slack, settings, "GPU quota took 3 days", "t1")
    refusal_url = slack.url.replace("/api/", "/respond/refusal")
    payload = {**button("triage_acknowledge", number, user=BYSTANDER), "response_url": refusal_url}

    client.post("/slack/events", **interaction(payload))

    assert "Only platform leads" in slack.wait_for("respond/refusal")[0]["text"]
    assert reports(session)[0].status == "open"


def test_a_lead_resolves_with_a_note_and_the_reporter_is_told(
    client: TestClient, slack: FakeSlack, settings: Settings, session: Session
) -> None:
    number = file_and_post_to_triage(client, slack, settings, "GPU quota took 3 days", "t1")

    client.post("/slack/events", **interaction(button("triage_resolve", number, user=LEAD)))
    [opened] = slack.wait_for("views.open")
    note = {"type": "plain_text_input", "value": "GPU quota is self-serve now"}
    client.post("/slack/events", **interaction(lead_submits(opened, "triage_resolve_modal", "note", note)))
    wait_until(lambda: reports(session)[0].status == "resolved")
    notify_pending(settings, WebClientNotifier(sync_client(settings)))

    report = reports(session)[0]
    assert (report.status, report.resolution_note) == ("resolved", "GPU quota is self-serve now")
    dm = [p for p in slack.of("chat.postMessage") if p["channel"] == REPORTER]
    assert len(dm) == 1
    assert "GPU quota is self-serve now" in json.dumps(dm[0]["blocks"])
    notify_pending(settings, WebClientNotifier(sync_client(settings)))
    assert len([p for p in slack.of("chat.postMessage") if p["channel"] == REPORTER]) == 1


def test_a_lead_recategorises_and_marks_a_duplicate(
    client: TestClient, slack: FakeSlack, settings: Settings, session: Session
) -> None:
    first = file_and_post_to_triage(client, slack, settings, "Cold starts take 40 s on ml-api", "t1")
    second = file_and_post_to_triage(client, slack, settings, "the helm values file is 600 lines", "t2")

    client.post(
        "/slack/events",
        **interaction(
            {
                **button("triage_category", second, user=LEAD, option="deploy_release"),
                "response_url": slack.url.replace("/api/", "/respond/cat"),
            }
        ),
    )
    slack.wait_for("respond/cat")
    client.post("/slack/events", **interaction(button("triage_duplicate", second, user=LEAD)))
    [opened] = slack.wait_for("views.open")
    original = {"type": "number_input", "value": str(first)}
    client.post("/slack/events", **interaction(lead_submits(opened, "triage_duplicate_modal", "original", original)))
    wait_until(lambda: reports(session)[1].duplicate_of is not None)

    one, two = reports(session)
    assert (two.category, two.category_source, two.duplicate_of) == ("deploy_release", "human", first)
    assert one.votes == 2


def test_the_reporter_changes_the_category_from_the_reply(
    client: TestClient, slack: FakeSlack, settings: Settings, session: Session
) -> None:
    client.post("/slack/events", **command(slack, "the helm values file is 600 lines", trigger="t1"))
    reply = wait_response(slack, "t1")
    drain(settings)
    block = next(b for b in reply["blocks"] if b["type"] == "actions")["block_id"]
    number = int(block.split(":")[1])

    payload = {
        **button("friction_category", number, user=REPORTER, block=block, option="config_complexity"),
        "response_url": slack.url.replace("/api/", "/respond/change"),
    }
    client.post("/slack/events", **interaction(payload))
    slack.wait_for("respond/change")

    assert (reports(session)[0].category, reports(session)[0].category_source) == ("config_complexity", "human")


def test_a_channel_slack_refuses_for_good_is_logged_not_retried(
    client: TestClient, slack: FakeSlack, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    slack.errors[("chat.postMessage", "CTRIAGE")] = "channel_not_found"
    client.post("/slack/events", **command(slack, "GPU quota took 3 days", trigger="t1"))
    slack.wait_for("respond/t1")
    drain(settings)

    first = notify_pending(settings, WebClientNotifier(sync_client(settings)))
    again = notify_pending(settings, WebClientNotifier(sync_client(settings)))

    assert (first.refused, again.refused, again.posted) == (1, 0, 0)
    assert len(slack.of("chat.postMessage")) == 1
    assert "channel_not_found" in caplog.text


def test_slack_is_404_when_not_configured(database_url: str, tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(database_url, tmp_path), waker=RecordingWaker())) as plain:
        assert (
            plain.post("/slack/events", content=b"{}", headers={"Content-Type": "application/json"}).status_code == 404
        )


def test_when_the_reply_cannot_be_delivered_the_reporter_gets_a_dm_with_the_number(
    client: TestClient, slack: FakeSlack, settings: Settings, session: Session
) -> None:
    slack.broken_paths.add("respond/t-broken")

    client.post("/slack/events", **command(slack, "GPU quota took 3 days", trigger="t-broken"))

    [dm] = slack.wait_for("chat.postMessage")
    drain(settings)
    [report] = reports(session)
    assert dm["channel"] == REPORTER
    assert f"#{report.id}" in dm["text"]
