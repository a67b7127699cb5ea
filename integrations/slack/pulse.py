"""The weekly pulse in Slack: the question (Block Kit buttons), the optional "what was it about" modal, the
reminder, and opting in and out from App Home.

Every listener acks first, then stores through the ports (in a thread), then answers. Text a person typed
is never echoed back as mrkdwn unescaped (``fmt``); the question itself is the app's own text.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from integrations.slack import blocks
from integrations.slack.mrkdwn import Mrkdwn, fmt
from integrations.slack.ports import SlackPorts
from service.core.errors import InvalidInput
from service.figures.pulse.compute import BUCKETS, BY_KEY, QUESTION

ANSWER_PREFIX = "pulse_answer_"
ANSWER_ACTIONS = re.compile(r"^pulse_answer_")
ABOUT_MODAL = "pulse_about"
OPT_IN, OPT_IN_ANONYMOUS, OPT_OUT, SERVICE = "pulse_opt_in", "pulse_opt_in_anonymous", "pulse_opt_out", "pulse_service"


def question(week: str, *, reminder: bool = False) -> tuple[Mrkdwn, list[dict[str, Any]]]:
    """The weekly question: (fallback text, blocks). A button's value is ``week|bucket``."""
    lead = "Reminder — " if reminder else ""
    text = fmt("{}" + QUESTION + " ({})", lead, week)
    buttons = [
        {
            "type": "button",
            "action_id": ANSWER_PREFIX + b.key,
            "text": blocks.plain(b.label),
            "value": f"{week}|{b.key}",
        }
        for b in BUCKETS
    ]
    return text, [
        blocks.mrkdwn(
            fmt("*{}*{}\nWeek {}.", QUESTION, " _(a reminder: this is the only one)_" if reminder else "", week)
        ),
        {"type": "actions", "block_id": f"pulse:{week}", "elements": buttons},
        blocks.context(
            Mrkdwn("Answers count per team and service, with the response rate. Opt out any time in App Home.")
        ),
    ]


def about_modal(week: str, bucket: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ABOUT_MODAL,
        "private_metadata": json.dumps({"week": week, "bucket": bucket}),
        "title": blocks.plain("Weekly pulse", 24),
        "submit": blocks.plain("Save", 24),
        "close": blocks.plain("Skip", 24),
        "blocks": [
            {
                "type": "input",
                "block_id": "about",
                "optional": True,
                "label": blocks.plain("What was it about? (optional)"),
                "element": {"type": "plain_text_input", "action_id": "about", "multiline": True, "max_length": 500},
            }
        ],
    }


def home_blocks(member: Any, services: Sequence[str]) -> list[dict[str, Any]]:
    """App Home's pulse section: the member's state and the buttons to change it."""
    opted = member is not None and member.opted_in
    if opted:
        state = fmt(
            "*Weekly pulse*\nYou get one question a week{}{}.",
            " — anonymously" if member.anonymous else "",
            fmt(", answering for {}", member.service) if member.service else Mrkdwn(" (choose your service below)"),
        )
        buttons = [{"type": "button", "action_id": OPT_OUT, "text": blocks.plain("Stop the weekly pulse")}]
    else:
        state = Mrkdwn(
            "*Weekly pulse*\nOne question a week: how many hours did infrastructure cost you? You are not asked "
            "unless you opt in."
        )
        buttons = [
            {"type": "button", "action_id": OPT_IN, "text": blocks.plain("Opt in"), "style": "primary"},
            {"type": "button", "action_id": OPT_IN_ANONYMOUS, "text": blocks.plain("Opt in anonymously")},
        ]
    out: list[dict[str, Any]] = [{"type": "divider"}, blocks.mrkdwn(state), {"type": "actions", "elements": buttons}]
    if opted and services:
        select: dict[str, Any] = {
            "type": "static_select",
            "action_id": SERVICE,
            "placeholder": blocks.plain("The service you work on"),
            "options": [{"text": blocks.plain(s), "value": s} for s in services[:100]],
        }
        if member.service in services:
            select["initial_option"] = {"text": blocks.plain(member.service), "value": member.service}
        out.append({"type": "actions", "block_id": "pulse_service", "elements": [select]})
    return out


async def publish_home(client: AsyncWebClient, ports: SlackPorts, user: str) -> None:
    """The user's App Home: their reports, the themes and the pulse's question (Slack keeps 100 blocks)."""
    mine, themes, member, services = await asyncio.gather(
        asyncio.to_thread(ports.reports_of, user),
        asyncio.to_thread(ports.themes),
        asyncio.to_thread(ports.pulse_member, user),
        asyncio.to_thread(ports.services),
    )
    view = blocks.home_view(mine, themes, ports.taxonomy)
    view["blocks"] = (view["blocks"] + home_blocks(member, services))[:100]
    await client.views_publish(user_id=user, view=view)


def register(app: AsyncApp, ports: SlackPorts) -> None:

    async def join(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, **choice: Any) -> None:
        await ack()
        user = body["user"]["id"]
        await asyncio.to_thread(ports.pulse_join, user, **choice)
        await publish_home(client, ports, user)

    @app.action(OPT_IN)
    async def opt_in(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await join(ack, body, client, opted_in=True, anonymous=False)

    @app.action(OPT_IN_ANONYMOUS)
    async def opt_in_anonymously(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await join(ack, body, client, opted_in=True, anonymous=True)

    @app.action(OPT_OUT)
    async def opt_out(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await join(ack, body, client, opted_in=False)

    @app.action(SERVICE)
    async def choose_service(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await join(ack, body, client, service=body["actions"][0]["selected_option"]["value"])

    @app.action(ANSWER_ACTIONS)
    async def answer(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        await ack()
        week, _, bucket = str(body["actions"][0].get("value", "")).partition("|")
        try:
            await asyncio.to_thread(ports.pulse_answer, body["user"]["id"], week=week, bucket=bucket)
        except InvalidInput as exc:
            await respond(text=fmt(":warning: {}", exc.message), response_type="ephemeral", replace_original=False)
            return
        await client.views_open(trigger_id=body["trigger_id"], view=about_modal(week, bucket))  # trigger: 3 s
        await respond(
            text=fmt("Thanks: {} for {}. You can change it by answering again.", BY_KEY[bucket].label, week),
            replace_original=False,
        )

    @app.view(ABOUT_MODAL)
    async def about(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        meta = json.loads(body["view"]["private_metadata"])
        text = body["view"]["state"]["values"].get("about", {}).get("about", {}).get("value") or ""
        if text.strip():
            await asyncio.to_thread(ports.pulse_answer, body["user"]["id"], week=meta["week"], about=text)
