"""Build the bolt app for one FastAPI app, configured explicitly from Settings.

Nothing calls Slack before ``ack()``. bolt's single-workspace authorization would call ``auth.test`` on
the first request, before any listener — with Slack's Web API down that turned an engineer's report
into a 500, and Slack does not retry slash commands. Here authorization is answered from the settings
(the bot token, and the bot's user id if configured), with no network call; listeners ack first, store
the report, and anything they cannot send now waits in the outbox (``slack_outbox``).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult

from integrations.slack import commands, home, pulse, shortcuts, triage, views
from integrations.slack.client import async_client
from integrations.slack.ports import SlackPorts
from service.core.settings import Settings

log = logging.getLogger("frictionlog.slack")


def offline_authorize(settings: Settings) -> Any:
    """bolt's ``authorize``: the single workspace's bot token from settings, never an ``auth.test``."""
    if settings.slack_bot_token is None:
        raise ValueError("FRICTIONLOG_SLACK_BOT_TOKEN is not set")
    token = settings.slack_bot_token.get_secret_value()

    async def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            bot_token=token,
            bot_user_id=settings.slack_bot_user_id,
        )

    return authorize


def build_app(settings: Settings, ports: SlackPorts) -> AsyncApp:
    """Verifies every request (``v0`` signature, five-minute window) before any listener runs."""
    if settings.slack_signing_secret is None:
        raise ValueError("FRICTIONLOG_SLACK_SIGNING_SECRET is not set")
    app = AsyncApp(
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        client=async_client(settings, with_token=False),  # the token comes from authorize, per request
        authorize=offline_authorize(settings),
        logger=log,
        # Listeners run after ack(): the HTTP answer goes out as soon as ack() is called.
        process_before_response=False,
    )
    # Its signature-failure line includes the whole body: requests are verified before bolt sees them
    # (service/app/api/routes/slack.py), and this logger is kept quiet in case one ever gets through.
    logging.getLogger("slack_bolt.AsyncRequestVerification").setLevel(logging.WARNING)
    for surface in (commands, views, shortcuts, home, triage, pulse):
        surface.register(app, ports)
    return app
