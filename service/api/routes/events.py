"""The inbox, read-only: failures to look at, counts to watch."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from service import inbox
from service.api.auth import require_scope
from service.api.deps import BeforeId, DbSession
from service.vocab import InboxStatus

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


@router.get("/events")
def list_events(
    session: DbSession,
    status: Status | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    before_id: BeforeId = None,
) -> list[InboxEventOut]:
    """Inbox rows, newest first; ``?status=failed`` lists what needs a look (then ``frictionlog replay``)."""
    rows = inbox.list_events(session, status=status, limit=limit, before_id=before_id)
    return [InboxEventOut.model_validate(row, from_attributes=True) for row in rows]


@router.get("/events/stats")
def inbox_stats(session: DbSession) -> InboxStatsOut:
    return InboxStatsOut(**inbox.count_by_status(session))
