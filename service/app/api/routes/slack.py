"""``POST /slack/events``: commands, interactivity and events on one URL, handled by the bolt app.

The request is verified here first (Slack's ``v0`` signature and five-minute window), so a forged or
stale request gets the documented 401 envelope and never reaches bolt, whose own signature-failure log
line would include the body. The body cap is applied before this route runs (``service.app.api.limits``).
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from starlette.requests import ClientDisconnect

from integrations.signatures import verify_slack
from service.app.api.errors import MalformedBody
from service.app.api.state import StateDep
from service.core.errors import NotFound

router = APIRouter(tags=["slack"])


@router.post("/slack/events", include_in_schema=True)
async def slack_events(request: Request, state: StateDep) -> Response:
    """Slack signs every request (``v0``, five-minute window); it is verified before any listener runs."""
    handler = state.slack_handler
    if handler is None:
        raise NotFound("Slack is not configured on this server (FRICTIONLOG_SLACK_SIGNING_SECRET)")
    try:
        raw = await request.body()  # kept on the request: bolt reads the same bytes
    except ClientDisconnect:
        raise MalformedBody("the client disconnected before sending the whole body") from None
    headers = {name.lower(): value for name, value in request.headers.items()}
    if not _ssl_check(headers, raw):  # Slack's certificate probe carries nothing; bolt answers it 200
        verify_slack(headers, raw, state.settings.slack_signing_secret, now=time.time())
    return await handler.handle(request)


def _ssl_check(headers: dict[str, str], raw: bytes) -> bool:
    if len(raw) > 1024 or not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return False
    return parse_qs(raw.decode("utf-8", "replace")).get("ssl_check") == ["1"]
