"""Slack Web API clients with timeouts and slack_sdk's retry handlers (rate limits, connection errors).

Errors that retrying cannot fix (``channel_not_found``, ``not_in_channel``, ``is_archived``,
``missing_scope`` and the like) are not retried: callers log them and move on.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from service.core.settings import Settings

TIMEOUT_SECONDS = 10
FATAL = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "missing_scope",
        "user_not_found",
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "cannot_dm_bot",
    }
)


def _token(settings: Settings) -> str | None:
    return settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None


def async_client(settings: Settings, *, with_token: bool = True) -> AsyncWebClient:
    return AsyncWebClient(
        token=_token(settings) if with_token else None,
        base_url=settings.slack_api_url,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=3), AsyncConnectionErrorRetryHandler()],
    )


def sync_client(settings: Settings) -> WebClient:
    return WebClient(
        token=_token(settings),
        base_url=settings.slack_api_url,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3), ConnectionErrorRetryHandler()],
    )
