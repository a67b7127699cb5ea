"""Outgoing Slack messages from workers, behind a small Protocol (a fake Slack API serves the tests)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from integrations.slack.client import FATAL

log = logging.getLogger("frictionlog.slack")


class SlackUnavailable(Exception):
    """Slack could not be reached or keeps failing after the retry handlers: try again later."""


class SlackNotifier(Protocol):
    def post_message(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> str | None:
        """Post; the message's ``ts`` if posted (kept, to update or thread on it later), None if Slack
        refused for good (logged). SlackUnavailable: try later."""


class WebClientNotifier:
    def __init__(self, client: WebClient) -> None:
        self._client = client

    def post_message(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> str | None:
        try:
            answer = self._client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            if error in FATAL:
                log.error("slack.post_refused channel=%s error=%s", channel, error)
                return None
            raise SlackUnavailable(error) from exc
        except OSError as exc:  # connection trouble the retry handlers could not get past
            raise SlackUnavailable(exc.__class__.__name__) from exc
        return str(answer.get("ts") or "") or None
