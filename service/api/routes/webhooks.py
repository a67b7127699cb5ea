"""Inbound webhooks. Each route: authenticate → validate → insert into the inbox → wake workers → 202."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel
from sqlmodel import Session

from integrations import generic
from service import inbox
from service.api.auth import require_scope
from service.api.body import JsonBody, json_body
from service.api.deps import WakerDep, WriteSession
from workers.enqueue import Waker

router = APIRouter(tags=["webhooks"])

KEPT_HEADERS = ("user-agent", "content-type", "x-request-id")
"""The only request headers stored with an inbox row; never an Authorization header or a signature."""


class AcceptedOut(BaseModel):
    id: int
    duplicate: bool


class BatchAcceptedOut(BaseModel):
    accepted: int
    duplicates: int
    events: list[AcceptedOut]


def kept_headers(request: Request) -> dict[str, str]:
    return {name: request.headers[name][:256] for name in KEPT_HEADERS if name in request.headers}


def store(session: Session, waker: Waker, deliveries: list[inbox.Delivery]) -> list[inbox.Accepted]:
    results = inbox.accept(session, deliveries)
    if any(not result.duplicate for result in results):
        waker.wake()
    return results


@router.post(
    "/webhooks/generic",
    status_code=202,
    response_model=AcceptedOut | BatchAcceptedOut,
    responses={200: {"description": "Already received (a resend): nothing new stored"}},
    dependencies=[Depends(require_scope("ingest"))],
)
def generic_webhook(
    request: Request,
    response: Response,
    body: Annotated[JsonBody, Depends(json_body)],
    session: WriteSession,
    waker: WakerDep,
) -> AcceptedOut | BatchAcceptedOut:
    """One generic event, or an array of up to 500 for a backfill (see docs/webhooks.md)."""
    results = store(session, waker, generic.deliveries(body.value, headers=kept_headers(request)))
    new = sum(not result.duplicate for result in results)
    response.status_code = 202 if new else 200
    if not isinstance(body.value, list):
        return AcceptedOut(id=results[0].id, duplicate=results[0].duplicate)
    return BatchAcceptedOut(
        accepted=new,
        duplicates=len(results) - new,
        events=[AcceptedOut(id=result.id, duplicate=result.duplicate) for result in results],
    )
