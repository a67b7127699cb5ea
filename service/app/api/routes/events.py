"""The inbox, read-only: failures to look at, counts to watch."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from service.app.api.auth import require_scope
from service.app.api.deps import BeforeId, DbSession
from service.app.api.formats import Format, JsonOnly, csv_response
from service.core.vocab import InboxStatus
from service.ingest import inbox

router = APIRouter(prefix="/api/v1", tags=["inbox"], dependencies=[Depends(require_scope("read"))])

Status = InboxStatus


class InboxEventOut(BaseModel):
    id: int
    source: str
    event_type: str
    delivery_key: str
    status: str
    attempts: int
    error: str | None
    received_at: datetime
    processed_at: datetime | None


class InboxStatsOut(BaseModel):
    pending: int
    processed: int
    ignored: int
    failed: int


@router.get("/events", response_model=list[InboxEventOut])
def list_events(
    session: DbSession,
    format: Format = "json",  # the query parameter's name
    status: Status | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    before_id: BeforeId = None,
) -> list[InboxEventOut] | Response:
    """Inbox rows, newest first; ``?status=failed`` lists what needs a look (then ``frictionlog replay``)."""
    rows = inbox.list_events(session, status=status, limit=limit, before_id=before_id)
    out = [InboxEventOut.model_validate(row, from_attributes=True) for row in rows]
    return csv_response(out, InboxEventOut, "events") if format == "csv" else out


@router.get("/events/stats", dependencies=[JsonOnly])
def inbox_stats(session: DbSession) -> InboxStatsOut:
    return InboxStatsOut(**inbox.count_by_status(session))
