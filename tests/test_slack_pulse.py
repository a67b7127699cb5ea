"""The weekly pulse (issue 29 #8) through the real Slack route (signed requests) and the local Slack
stand-in: opt-in and out from App Home, one question a week to opted-in members only, answers per
person-week (anonymity honoured, hostile text kept as text), one reminder at most, and the weekly
measurement with its response rate through the normal ingest path. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from integrations.slack.client import sync_client
from integrations.slack.notifier import WebClientNotifier
from service.core.models import Measurement, PulseAnswer, PulseMember
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.weeks import last_full_week
from service.figures.pulse import compute
from service.figures.pulse import service as pulse_service
from tests.slack_fake import FakeSlack
from tests.test_slack import client, event, interaction, settings, slack, wait_until
from workers import pulse
from workers.process import drain

__all__ = ["client", "settings", "slack"]  # the Slack app, its settings and the Slack stand-in, as fixtures

ASKED, ANONYMOUS, OUT, NEVER = "U0ASKED", "U0ANON", "U0OUT", "U0NEVER"


def click(
    action_id: str, user: str, *, value: str | None = None, option: str | None = None, respond: str = ""
) -> dict[str, Any]:
    action: dict[str, Any] = {"action_id": action_id, "block_id": "b", "type": "button", "action_ts": "1.2"}
    if value is not None:
        action["value"] = value
    if option is not None:
        action = {**action, "type": "static_select", "selected_option": {"value": option}}
    return interaction(
        {
            "type": "block_actions",
            "user": {"id": user, "username": "x", "team_id": "T0001"},
            "trigger_id": f"trigger-{user}",
            "response_url": respond,
            "container": {"type": "message", "channel_id": "D0PULSE"} if respond else {"type": "view", "view_id": "VH"},
            "actions": [action],
        }
    )


def reply(slack: FakeSlack) -> str:
    return slack.url.replace("/api/", "/respond/pulse")


def stored_answers(session: Session) -> list[PulseAnswer]:
    session.rollback()  # a fresh snapshot
    return list(session.exec(select(PulseAnswer)))


def members(session: Session) -> dict[str, PulseMember]:
    session.rollback()
    return {m.slack_user: m for m in session.exec(select(PulseMember))}


def notifier(settings: Settings) -> WebClientNotifier:
    return WebClientNotifier(sync_client(settings))


def dms_to(slack: FakeSlack, user: str) -> list[dict[str, Any]]:
    return [body for body in slack.of("chat.postMessage") if body.get("channel") == user]


def join(client: TestClient, session: Session, user: str, action: str, service: str | None = None) -> None:
    client.post("/slack/events", **click(action, user))
    wait_until(lambda: user in members(session))
    if service:
        client.post("/slack/events", **click("pulse_service", user, option=service))
        wait_until(lambda: members(session)[user].service == service)


def test_app_home_offers_the_pulse_and_opting_in_and_out_is_stored(
    client: TestClient, slack: FakeSlack, session: Session
) -> None:
    client.post("/slack/events", **event({"type": "app_home_opened", "user": ASKED, "tab": "home", "event_ts": "1"}))
    [home] = slack.wait_for("views.publish")
    join(client, session, ASKED, "pulse_opt_in", service="ml-api")
    after = slack.wait_for("views.publish", 3)[-1]
    client.post("/slack/events", **click("pulse_opt_out", ASKED))
    wait_until(lambda: not members(session)[ASKED].opted_in)

    assert "Opt in anonymously" in json.dumps(home["view"])
    assert "Stop the weekly pulse" in json.dumps(after["view"])
    assert "answering for ml-api" in json.dumps(after["view"])


def test_only_opted_in_members_are_asked_once_a_week_and_reminded_at_most_once(
    client: TestClient, slack: FakeSlack, settings: Settings, session: Session
) -> None:
    join(client, session, ASKED, "pulse_opt_in", service="ml-api")
    join(client, session, ANONYMOUS, "pulse_opt_in_anonymous", service="ml-api")
    join(client, session, OUT, "pulse_opt_in", service="ledger")
    pulse_service.set_membership(session, OUT, opted_in=False)
    week = last_full_week(utcnow(), settings.timezone)

    first = pulse.ask(settings, notifier(settings), week=week)
    again = pulse.ask(settings, notifier(settings), week=week)
    client.post("/slack/events", **click("pulse_answer_1to4", ASKED, value=f"{week}|1to4", respond=reply(slack)))
    slack.wait_for("views.open")
    reminded = pulse.remind(settings, notifier(settings), week=week)
    reminded_again = pulse.remind(settings, notifier(settings), week=week)

    assert (first.sent, again.sent) == (2, 0)
    assert (reminded.sent, reminded_again.sent) == (1, 0)
    assert len(dms_to(slack, ASKED)) == 1  # answered: never reminded
    assert len(dms_to(slack, ANONYMOUS)) == 2  # the question and the one reminder
    assert dms_to(slack, OUT) == dms_to(slack, NEVER) == []
    blocks = dms_to(slack, ASKED)[0]["blocks"]
    labels = [b["text"]["text"] for b in blocks[1]["elements"]]
    assert compute.QUESTION in blocks[0]["text"]["text"]
    assert labels == ["0", "<1 h", "1–4 h", "4–8 h", ">8 h"]


def test_answers_are_one_per_person_week_anonymous_ones_name_nobody_and_text_stays_text(
    client: TestClient, slack: FakeSlack, settings: Settings, session: Session
) -> None:
    join(client, session, ASKED, "pulse_opt_in", service="ml-api")
    join(client, session, ANONYMOUS, "pulse_opt_in_anonymous", service="ml-api")
    week = last_full_week(utcnow(), settings.timezone)
    pulse.ask(settings, notifier(settings), week=week)

    client.post("/slack/events", **click("pulse_answer_gt8", ASKED, value=f"{week}|gt8", respond=reply(slack)))
    wait_until(lambda: bool(stored_answers(session)))
    # They change their mind: the second answer replaces the first.
    client.post("/slack/events", **click("pulse_answer_1to4", ASKED, value=f"{week}|1to4", respond=reply(slack)))
    client.post("/slack/events", **click("pulse_answer_lt1", ANONYMOUS, value=f"{week}|lt1", respond=reply(slack)))
    client.post("/slack/events", **click("pulse_answer_0", "U0STRANGER", value=f"{week}|0", respond=reply(slack)))
    opened = slack.wait_for("views.open", 3)[0]
    slack.wait_for("respond/pulse", 4)  # every click answered (the stranger's with a refusal)
    hostile = "<!channel> the *runners* <https://evil.example|were down>"
    submission = {
        "type": "view_submission",
        "user": {"id": ASKED, "team_id": "T0001"},
        "view": {
            "id": "VPULSE",
            "type": "modal",
            "callback_id": "pulse_about",
            "private_metadata": opened["view"]["private_metadata"],
            "state": {"values": {"about": {"about": {"type": "plain_text_input", "value": hostile}}}},
        },
    }
    client.post("/slack/events", **interaction(submission))
    wait_until(lambda: any(a.about for a in stored_answers(session)))

    session.rollback()
    answers = {a.respondent: a for a in session.exec(select(PulseAnswer))}
    replies = slack.of("respond/pulse")
    assert set(answers) >= {ASKED}
    assert len(answers) == 2  # the stranger was never asked: nothing stored for them
    assert (answers[ASKED].bucket, answers[ASKED].about) == ("1to4", hostile)
    [anonymous] = [a for name, a in answers.items() if name != ASKED]
    assert anonymous.respondent.startswith("anon:")
    assert ANONYMOUS not in json.dumps([a.model_dump(mode="json") for a in answers.values()])
    assert not any("<!channel>" in json.dumps(r) for r in replies)


def test_the_weekly_measurement_and_its_response_rate_go_through_the_ingest_path(
    client: TestClient, slack: FakeSlack, settings: Settings, session: Session
) -> None:
    for user in (ASKED, ANONYMOUS, "U0THIRD"):
        join(client, session, user, "pulse_opt_in", service="ml-api")
    week = last_full_week(utcnow(), settings.timezone)
    pulse.ask(settings, notifier(settings), week=week)
    client.post("/slack/events", **click("pulse_answer_1to4", ASKED, value=f"{week}|1to4", respond=reply(slack)))
    client.post("/slack/events", **click("pulse_answer_gt8", ANONYMOUS, value=f"{week}|gt8", respond=reply(slack)))
    slack.wait_for("views.open", 2)

    accepted = pulse.measure(settings)
    unchanged = pulse.measure(settings)
    drain(settings)

    session.rollback()
    stored = {m.metric: m for m in session.exec(select(Measurement).where(Measurement.service == "ml-api"))}
    assert (accepted, unchanged) == (3, 0)  # a re-run of an unchanged week adds nothing
    assert stored[compute.METRIC].value == pytest.approx((2.5 + 10.0) / 2)
    assert stored[compute.RATE_METRIC].value == pytest.approx(2 / 3)
    assert stored[compute.RESPONSES_METRIC].value == 2


def test_the_weekly_figures_by_hand() -> None:
    asked = pd.DataFrame(
        [("2026-W47", "a"), ("2026-W47", "a"), ("2026-W47", "a"), ("2026-W47", "b"), ("2026-W48", "a")],
        columns=["week", "service"],
    )
    answers = pd.DataFrame([("2026-W47", "a", "0"), ("2026-W47", "a", "4to8")], columns=["week", "service", "bucket"])
    table = compute.weekly(asked, answers)
    rows = {(r["week"], r["service"]): r for r in table.to_dict(orient="records")}
    assert (rows[("2026-W47", "a")]["mean_hours"], rows[("2026-W47", "a")]["response_rate"]) == (3.0, 2 / 3)
    assert pd.isna(rows[("2026-W47", "b")]["mean_hours"])  # nobody answered: no mean, never 0 h
    assert rows[("2026-W48", "a")]["response_rate"] == 0.0


@pytest.mark.parametrize("turns_anonymous", [True, False], ids=["named_then_anonymous", "anonymous_then_named"])
def test_a_member_who_changes_anonymity_and_answers_again_still_has_one_answer(
    database_url: str, turns_anonymous: bool
) -> None:
    """ "You can change it by answering again": after switching between named and anonymous in App Home, the
    new answer replaces the old one, under the new name; it is never a second answer (which would count the
    person twice, and keep a named answer of someone who asked for anonymity)."""
    from service.core.db import session_scope

    pulse = pulse_service
    week, key = "2026-W44", b"signing-secret"
    with session_scope(database_url, write=True) as session:
        pulse.set_membership(session, "U1", opted_in=True, service="payments", anonymous=not turns_anonymous)
        pulse.claim_questions(session, week)
        pulse.record_answer(session, "U1", week=week, key=key, bucket="gt8")
        pulse.set_membership(session, "U1", opted_in=False)
        pulse.set_membership(session, "U1", opted_in=True, service="payments", anonymous=turns_anonymous)
        again = pulse.record_answer(session, "U1", week=week, key=key, bucket="0")
    assert again.replaced
    with session_scope(database_url) as session:
        stored = session.exec(select(PulseAnswer)).all()
    assert [(a.respondent.startswith("anon:"), a.bucket) for a in stored] == [(turns_anonymous, "0")]
