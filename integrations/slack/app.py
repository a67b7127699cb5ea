"""Build the bolt app for one FastAPI app, configured explicitly from Settings."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp

from integrations.slack import commands, home, shortcuts, triage, views
from integrations.slack.client import async_client
from integrations.slack.ports import SlackPorts
from service.settings import Settings

log = logging.getLogger("frictionlog.slack")


def build_app(settings: Settings, ports: SlackPorts) -> AsyncApp:
    """Verifies every request (``v0`` signature, five-minute window) before any listener runs."""
    if settings.slack_signing_secret is None:
        raise ValueError("FRICTIONLOG_SLACK_SIGNING_SECRET is not set")
    app = AsyncApp(
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        client=async_client(settings),  # carries the bot token
        logger=log,
        # Listeners run after ack(): the HTTP answer goes out as soon as ack() is called.
        process_before_response=False,
    )
    for surface in (commands, views, shortcuts, home, triage):
        surface.register(app, ports)
    return app
