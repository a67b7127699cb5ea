"""The message shortcut *Report as friction*: the friction form, filled with the message."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from integrations.slack.commands import open_form
from integrations.slack.ports import SlackPorts

SHORTCUT = "report_as_friction"


def register(app: AsyncApp, ports: SlackPorts) -> None:
    @app.shortcut(SHORTCUT)
    async def report_message(ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        message = shortcut.get("message", {})
        metadata = {"channel": shortcut.get("channel", {}).get("id"), "message_ts": message.get("ts")}
        await open_form(client, ports, shortcut["trigger_id"], text=message.get("text", ""), metadata=metadata)
