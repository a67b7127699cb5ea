"""``POST /slack/events``: commands, interactivity and events on one URL, handled by the bolt app."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from service.api.state import StateDep
from service.errors import NotFound

router = APIRouter(tags=["slack"])


@router.post("/slack/events", include_in_schema=True)
async def slack_events(request: Request, state: StateDep) -> Response:
    """Slack signs every request (``v0``, five-minute window); bolt verifies it before any listener runs."""
    handler = state.slack_handler
    if handler is None:
        raise NotFound("Slack is not configured on this server (FRICTIONLOG_SLACK_SIGNING_SECRET)")
    return await handler.handle(request)
