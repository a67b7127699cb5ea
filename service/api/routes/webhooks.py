"""Inbound webhooks. Each route: authenticate → validate → insert into the inbox → wake workers → 202."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session

from integrations import generic, opsgenie, registry
from service import inbox
from service.api.auth import authorize, bearer, require_scope
from service.api.body import JsonBody, decode_json, json_body, read_capped, require_json
from service.api.deps import WakerDep, WriteSession
from service.errors import NotFound
from service.settings import Settings
from service.spool import Spool
from workers.enqueue import Waker

router = APIRouter(tags=["webhooks"])


class AcceptedOut(BaseModel):
    id: int | None
    """The inbox row's id; null while the database is down and the event waits on the spool."""
    duplicate: bool


class VendorAcceptedOut(AcceptedOut):
    ignored: str | None = None
    """Set when the event is well-formed but not one we use: stored and recorded as ignored."""


class BatchAcceptedOut(BaseModel):
    accepted: int
    duplicates: int
    events: list[AcceptedOut]


def kept_headers(request: Request) -> dict[str, str]:
    return {name: request.headers[name][:256] for name in registry.KEPT_HEADERS if name in request.headers}


def store(session: Session, waker: Waker, deliveries: list[inbox.Delivery], spool: Spool) -> list[inbox.Accepted]:
    """Into the inbox; if the database cannot commit, onto the fsync'd spool (still a 2xx: nothing lost)."""
    try:
        results = inbox.accept(session, deliveries)
    except (OperationalError, InterfaceError):
        session.rollback()
        spool.append(deliveries)  # SpoolUnavailable (503) if the disk fails too
        return [inbox.Accepted(id=None, duplicate=False) for _ in deliveries]
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
    results = store(
        session, waker, generic.deliveries(body.value, headers=kept_headers(request)), request.app.state.spool
    )
    new = sum(not result.duplicate for result in results)
    response.status_code = 202 if new else 200
    if not isinstance(body.value, list):
        return AcceptedOut(id=results[0].id, duplicate=results[0].duplicate)
    return BatchAcceptedOut(
        accepted=new,
        duplicates=len(results) - new,
        events=[AcceptedOut(id=result.id, duplicate=result.duplicate) for result in results],
    )


@router.post(
    "/webhooks/{source}",
    status_code=202,
    responses={200: {"description": "Already received (a resend): nothing new stored"}},
)
def vendor_webhook(
    source: Annotated[str, Path(description="github, gitlab, pagerduty or opsgenie")],
    request: Request,
    response: Response,
    raw: Annotated[bytes, Depends(read_capped)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    session: WriteSession,
    waker: WakerDep,
) -> VendorAcceptedOut:
    """A tool's own webhook, verified with its own scheme (docs/integrations/<source>.md).

    Order of checks: size (413), signature (401, before anything is parsed), content type (415),
    JSON (400), the fields we need (422). Event types we do not use are stored and answered 202 with
    ``ignored`` set, so the sender keeps the hook enabled.
    """
    if source not in registry.VENDORS:
        raise NotFound(f"no webhook for {source!r}; sources: generic, {', '.join(sorted(registry.VENDORS))}")
    settings: Settings = request.app.state.settings
    headers = {name.lower(): value for name, value in request.headers.items()}
    if source == opsgenie.SOURCE and credentials is not None:
        authorize(request, credentials, "ingest")  # Opsgenie does not sign: a token is the other way in
    else:
        registry.verify(source, headers, raw, settings)
    require_json(request)
    made = registry.vendor_delivery(source, headers, raw, decode_json(raw), request.app.state.integration_config)
    result = store(session, waker, [made.delivery], request.app.state.spool)[0]
    response.status_code = 200 if result.duplicate else 202
    return VendorAcceptedOut(id=result.id, duplicate=result.duplicate, ignored=made.ignored)
