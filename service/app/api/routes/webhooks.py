"""Inbound webhooks. Each route: authenticate → validate → insert into the inbox → wake workers → 202."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool

from integrations import cdevents, generic, opsgenie, registry
from service.app.api.auth import bearer, bearer_secret, check_token, require_scope
from service.app.api.body import JsonBody, decode_json, json_body, raw_body, require_json
from service.app.api.deps import WakerDep
from service.app.api.state import AppState, app_state
from service.core.errors import NotFound
from service.figures.cost.currency import Currencies
from service.ingest import inbox
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
    return registry.kept_headers(request.headers)


async def store(state: AppState, waker: Waker, deliveries: list[inbox.Delivery]) -> list[inbox.Accepted]:
    """Into the inbox (group-committed with concurrent requests); if the database cannot commit, onto the
    fsync'd spool — still a 2xx: nothing is lost. Wakes the workers when something is new."""
    try:
        results = await state.inbox_writer.accept(deliveries)
    except (OperationalError, InterfaceError):
        await run_in_threadpool(state.spool.append, deliveries)  # SpoolUnavailable (503) if the disk fails too
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
async def generic_webhook(
    request: Request,
    response: Response,
    body: Annotated[JsonBody, Depends(json_body)],
    waker: WakerDep,
) -> AcceptedOut | BatchAcceptedOut:
    """One generic event, or an array of up to 500 for a backfill (see docs/webhooks.md)."""
    currencies = Currencies.from_settings(app_state(request).settings)
    made = generic.deliveries(body.value, headers=kept_headers(request), currencies=currencies)
    results = await store(app_state(request), waker, made)
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
async def vendor_webhook(
    source: Annotated[str, Path(description="github, gitlab, pagerduty, opsgenie, jira, linear or cdevents")],
    request: Request,
    response: Response,
    raw: Annotated[bytes, Depends(raw_body)],
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    waker: WakerDep,
) -> VendorAcceptedOut:
    """A tool's own webhook, verified with its own scheme (docs/integrations/<source>.md).

    Order of checks: size (413), signature (401, before anything is parsed), content type (415),
    JSON (400), the fields we need (422). Event types we do not use are stored and answered 202 with
    ``ignored`` set, so the sender keeps the hook enabled.
    """
    if source not in registry.VENDORS:
        raise NotFound(f"no webhook for {source!r}; sources: generic, {', '.join(sorted(registry.VENDORS))}")
    state = app_state(request)
    headers = {name.lower(): value for name, value in request.headers.items()}
    authorization = headers.get("authorization")
    if source in (opsgenie.SOURCE, cdevents.SOURCE) and bearer_secret(authorization) is not None:
        await check_token(state.settings, state.token_cache, authorization, "ingest")  # unsigned senders' other way in
    else:
        registry.verify(source, headers, raw, state.settings)
    require_json(request)
    made = registry.vendor_delivery(source, headers, raw, decode_json(raw), app_state(request).integration_config)
    result = (await store(app_state(request), waker, [made.delivery]))[0]
    response.status_code = 200 if result.duplicate else 202
    return VendorAcceptedOut(id=result.id, duplicate=result.duplicate, ignored=made.ignored)
