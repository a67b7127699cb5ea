"""``/friction``: ``<text>`` files at once, nothing opens the form, ``help`` explains, ``list`` shows yours."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from integrations import friction_api
from integrations.registry import SLACK_SOURCE
from integrations.slack import blocks
from integrations.slack.client import FATAL
from integrations.slack.mrkdwn import Mrkdwn, fmt
from integrations.slack.ports import SlackPorts
from service.core.errors import InvalidInput
from service.figures.friction.categorise import categorise

log = logging.getLogger("frictionlog.slack")


def report_body(
    text: str, *, reporter: str | None, channel: str | None, delivery_id: str, **details: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "text": text,
        "delivery_id": delivery_id,
        **{k: v for k, v in details.items() if v is not None},
    }
    if reporter and not details.get("anonymous"):
        body["reporter"] = reporter
    if channel:
        body["channel"] = channel
    return body


async def file_report(ports: SlackPorts, body: dict[str, Any]) -> Any:
    return await asyncio.to_thread(ports.file, friction_api.delivery(body, headers={}, source=SLACK_SOURCE))


async def open_form(client: AsyncWebClient, ports: SlackPorts, trigger_id: str, **modal: Any) -> None:
    services = await asyncio.to_thread(ports.services)
    await client.views_open(trigger_id=trigger_id, view=blocks.friction_modal(services=services, **modal))


def register(app: AsyncApp, ports: SlackPorts) -> None:
    @app.command("/friction")
    async def friction_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        text = (command.get("text") or "").strip()
        user, channel = command["user_id"], command.get("channel_id")
        if not text:
            await open_form(client, ports, command["trigger_id"], metadata={"channel": channel})
            return
        if text.lower() == "help":
            await respond(text=blocks.HELP, response_type="ephemeral")
            return
        if text.lower() == "list":
            mine = await asyncio.to_thread(ports.reports_of, user)
            await respond(
                blocks=blocks.report_list(mine, ports.taxonomy), text="Your friction reports", response_type="ephemeral"
            )
            return
        body = report_body(text, reporter=user, channel=channel, delivery_id=f"slack-command:{command['trigger_id']}")
        try:
            accepted = await file_report(ports, body)
        except InvalidInput as exc:
            await respond(text=fmt(":warning: Not filed: {}", exc.message), response_type="ephemeral")
            return
        verdict = categorise(text, ports.taxonomy)
        reply = blocks.filed_reply(accepted.id, verdict, ports.taxonomy)
        try:
            answer = await respond(blocks=reply, text=f"Filed as friction #{accepted.id}", response_type="ephemeral")
            delivered = 200 <= answer.status_code < 300
        except (TimeoutError, OSError, aiohttp.ClientError):
            delivered = False
        if not delivered:  # the report is safe in the inbox: say so by DM instead
            log.warning("slack.reply_failed report=%s; sending a DM", accepted.id)
            await dm(client, ports, user, fmt("Your friction report was filed as #{}.", accepted.id))


async def dm(client: AsyncWebClient, ports: SlackPorts, user: str, text: Mrkdwn) -> None:
    """A DM to a Slack user id that Slack sent us (never to an id taken from a request body). If Slack
    cannot take it now, it waits in the outbox and a worker sends it when Slack is back."""
    try:
        await client.chat_postMessage(channel=user, text=blocks.safe(text))
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        if error in FATAL:
            log.error("slack.dm_failed error=%s", error)
            return
        await _later(ports, user, text, error)
    except (TimeoutError, OSError, aiohttp.ClientError) as exc:
        await _later(ports, user, text, exc.__class__.__name__)


async def _later(ports: SlackPorts, user: str, text: Mrkdwn, why: str) -> None:
    log.warning("slack.dm_deferred reason=%s", why)
    await asyncio.to_thread(ports.later, user, blocks.safe(text))
