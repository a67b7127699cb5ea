"""Modal submissions: the friction form, and the leads' resolve and duplicate forms."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from integrations.slack import blocks
from integrations.slack.commands import dm, file_report, report_body
from integrations.slack.mrkdwn import fmt
from integrations.slack.ports import SlackPorts
from service.core.errors import AppError, InvalidInput

log = logging.getLogger("frictionlog.slack")


def _value(values: dict[str, Any], block: str, action: str) -> Any:
    element = values.get(block, {}).get(action, {})
    if "selected_option" in element:
        return (element["selected_option"] or {}).get("value")
    if "selected_options" in element:
        return [option["value"] for option in element["selected_options"] or []]
    return element.get("value")


def form_details(values: dict[str, Any]) -> dict[str, Any]:
    """The friction form's answers as report fields (None where left empty)."""
    flags = _value(values, "flags", "flags") or []
    minutes = _value(values, "minutes", "minutes")
    impact = _value(values, "impact", "impact")
    return {
        "service": _value(values, "service", "service") or None,
        "minutes_lost": int(minutes) if minutes not in (None, "") else None,
        "impact": int(impact) if impact else None,
        "frequency": _value(values, "frequency", "frequency"),
        "blocking": "blocking" in flags or None,
        "anonymous": "anonymous" in flags or None,
    }


def register(app: AsyncApp, ports: SlackPorts) -> None:
    @app.view(blocks.FRICTION_MODAL)
    async def friction_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = view["state"]["values"]
        text = (_value(values, "what", "text") or "").strip()
        if len(text) < 3:
            await ack(response_action="errors", errors={"what": "Tell us a little more (3 characters at least)."})
            return
        await ack()
        user = body["user"]["id"]
        metadata = json.loads(view.get("private_metadata") or "{}")
        details = form_details(values)
        if "report" in metadata:  # "Add detail" on a report already filed
            await asyncio.to_thread(ports.add_detail, int(metadata["report"]), reporter=user, **details)
            return
        permalink = await _permalink(client, metadata)
        report = report_body(
            text,
            reporter=user,
            channel=metadata.get("channel"),
            delivery_id=f"slack-view:{view['id']}",  # a repeated submission of the same form is one report
            permalink=permalink,
            **details,
        )
        try:
            accepted = await file_report(ports, report)
        except InvalidInput as exc:
            await dm(client, ports, user, fmt(":warning: Your friction report was not filed: {}", exc.message))
            return
        await dm(client, ports, user, fmt(":white_check_mark: Filed as friction #{} — thank you.", accepted.id))

    @app.view(blocks.RESOLVE_MODAL)
    async def resolution_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        metadata = json.loads(view["private_metadata"])
        note = _value(view["state"]["values"], "note", "note") or ""
        await _triage(
            client, ports, body["user"]["id"], int(metadata["report"]), status=metadata["status"], resolution_note=note
        )

    @app.view(blocks.DUPLICATE_MODAL)
    async def duplicate_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        original = _value(view["state"]["values"], "original", "original")
        if not original:
            await ack(response_action="errors", errors={"original": "Which report is the original?"})
            return
        await ack()
        report = int(json.loads(view["private_metadata"])["report"])
        await _triage(client, ports, body["user"]["id"], report, duplicate_of=int(original))


async def _permalink(client: AsyncWebClient, metadata: dict[str, Any]) -> str | None:
    if not metadata.get("channel") or not metadata.get("message_ts"):
        return None
    try:
        response = await client.chat_getPermalink(channel=metadata["channel"], message_ts=metadata["message_ts"])
        link = response.get("permalink")
        return str(link) if link else None
    except SlackApiError as exc:
        log.warning("slack.permalink_failed error=%s", exc.response.get("error"))
        return None


async def _triage(client: AsyncWebClient, ports: SlackPorts, user: str, report: int, **changes: Any) -> None:
    try:
        await asyncio.to_thread(ports.triage, report, **changes)
    except AppError as exc:
        await dm(client, ports, user, fmt(":warning: Friction #{}: {}", report, exc.message))
