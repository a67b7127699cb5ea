"""App Home: the user's reports, the week's top themes, and the weekly pulse's opt-in."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from integrations.slack import blocks, pulse
from integrations.slack.ports import SlackPorts


def register(app: AsyncApp, ports: SlackPorts) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        mine, themes, member, services = await asyncio.gather(
            asyncio.to_thread(ports.reports_of, user),
            asyncio.to_thread(ports.themes),
            asyncio.to_thread(ports.pulse_member, user),
            asyncio.to_thread(ports.services),
        )
        view = blocks.home_view(mine, themes, ports.taxonomy)
        view["blocks"] = (view["blocks"] + pulse.home_blocks(member, services))[:100]
        await client.views_publish(user_id=user, view=view)
