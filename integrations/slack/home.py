"""App Home: the user's reports, the week's top themes, and the weekly pulse's opt-in."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from integrations.slack import pulse
from integrations.slack.ports import SlackPorts


def register(app: AsyncApp, ports: SlackPorts) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        await pulse.publish_home(client, ports, event["user"])
