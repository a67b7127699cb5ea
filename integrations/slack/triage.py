"""Buttons: the reporter's category and detail buttons; the leads' triage buttons (admins only)."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from integrations.slack import blocks
from integrations.slack import mrkdwn as md
from integrations.slack.mrkdwn import fmt
from integrations.slack.ports import SlackPorts
from service.core.errors import AppError, NotFound

REFUSAL = "Only platform leads can triage friction reports. Ask in the triage channel if something looks wrong."


def _report_id(body: dict[str, Any]) -> int:
    action = body["actions"][0]
    value = action.get("value") or action.get("block_id", "").split(":")[-1]
    return int(value)


def register(app: AsyncApp, ports: SlackPorts) -> None:
    async def change(respond: AsyncRespond, report: int, **changes: Any) -> None:
        try:
            await asyncio.to_thread(ports.triage, report, **changes)
        except NotFound:
            await respond(
                text=f"Friction #{report} is still being filed; try again in a moment.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        except AppError as exc:
            await respond(text=fmt(":warning: {}", exc.message), response_type="ephemeral", replace_original=False)
            return
        done = md.join(", ", (fmt("{} → {}", k.replace("_", " "), v) for k, v in changes.items()))
        await respond(text=fmt("Friction #{}: {}", report, done), response_type="ephemeral", replace_original=False)

    async def refused(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> bool:
        """Acknowledge a triage button; True, once the user is told, when the user is no platform lead."""
        await ack()
        if body["user"]["id"] in ports.admins:
            return False
        await respond(text=REFUSAL, response_type="ephemeral", replace_original=False)
        return True

    @app.action(blocks.CATEGORY_ACTION)
    async def reporter_recategorises(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        report = int(body["actions"][0]["block_id"].split(":")[-1])
        await change(respond, report, category=body["actions"][0]["selected_option"]["value"])

    @app.action(blocks.DETAIL_ACTION)
    async def reporter_adds_detail(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        services = await asyncio.to_thread(ports.services)
        view = blocks.friction_modal(services=services, metadata={"report": _report_id(body)})
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(blocks.TRIAGE_ACK)
    async def acknowledge(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        if await refused(ack, body, respond):
            return
        await change(respond, _report_id(body), status="acknowledged")

    @app.action(blocks.TRIAGE_CATEGORY)
    async def recategorise(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        if await refused(ack, body, respond):
            return
        report = int(body["actions"][0]["block_id"].split(":")[-1])
        await change(respond, report, category=body["actions"][0]["selected_option"]["value"])

    def closing(status: str) -> Any:
        async def close(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
            if await refused(ack, body, respond):
                return
            await client.views_open(trigger_id=body["trigger_id"], view=blocks.resolve_modal(_report_id(body), status))

        return close

    app.action(blocks.TRIAGE_RESOLVE)(closing("resolved"))
    app.action(blocks.TRIAGE_WONT_FIX)(closing("wont_fix"))

    @app.action(blocks.TRIAGE_DUPLICATE)
    async def duplicate(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        if await refused(ack, body, respond):
            return
        await client.views_open(trigger_id=body["trigger_id"], view=blocks.duplicate_modal(_report_id(body)))
