"""Inbound webhooks. Each route: authenticate → validate → insert into the inbox → wake workers → 202.

What a webhook does is :func:`accept_generic` and :func:`accept_vendor`, which both ways in call: the
FastAPI routes below (the OpenAPI schema, and the reference) and the lean ASGI path that serves them
(``service.app.api.fast_ingest``). They take the request's headers (lower-case names, the first of a
repeated one: :func:`header_map`) and answer a status and a JSON payload.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool

from integrations import cdevents, generic, opsgenie, registry
from service.app.api.auth import bearer, bearer_secret, check_token, require_scope
from service.app.api.body import JsonBody, decode_json, json_body, raw_body, require_json_type
from service.app.api.state import AppState, app_state
from service.core.errors import NotFound
from service.core.settings import Settings
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


def header_map(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """ASGI headers by lower-case name, the first of a repeated one (as Starlette's ``Headers`` reads them)."""
    found: dict[str, str] = {}
    for key, value in raw:
        found.setdefault(bytes(key).decode("latin-1").lower(), bytes(value).decode("latin-1"))
    return found


def kept_headers(request: Request) -> dict[str, str]:
    return registry.kept_headers(request.headers)


def started_waker(state: AppState) -> Waker:
    if state.waker is None:
        raise RuntimeError("the app has not started: no waker yet")
    return state.waker


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


_currencies: tuple[Settings, Currencies] | None = None


def currencies_of(settings: Settings) -> Currencies:
    """``Currencies.from_settings``, built once per settings object rather than once per request."""
    global _currencies
    cached = _currencies
    if cached is None or cached[0] is not settings:
        cached = _currencies = (settings, Currencies.from_settings(settings))
    return cached[1]


def _accepted(result: inbox.Accepted) -> dict[str, object]:
    return {"id": result.id, "duplicate": result.duplicate}


async def accept_generic(state: AppState, headers: Mapping[str, str], value: Any) -> tuple[int, dict[str, object]]:
    """``POST /webhooks/generic`` once its token, content type and JSON are checked: validate (422), store,
    answer 202 (200 if nothing was new)."""
    kept = registry.kept_headers(headers)
    made = generic.deliveries(value, headers=kept, currencies=currencies_of(state.settings))
    results = await store(state, started_waker(state), made)
    new = sum(not result.duplicate for result in results)
    status = 202 if new else 200
    if not isinstance(value, list):
        return status, _accepted(results[0])
    return status, {"accepted": new, "duplicates": len(results) - new, "events": [_accepted(r) for r in results]}


async def accept_vendor(
    state: AppState, source: str, headers: Mapping[str, str], raw: bytes
) -> tuple[int, dict[str, object]]:
    """``POST /webhooks/{source}`` for a source in ``registry.VENDORS``, its body read: signature (401,
    before anything is parsed), content type (415), JSON (400), the fields we need (422), store."""
    authorization = headers.get("authorization")
    if source in (opsgenie.SOURCE, cdevents.SOURCE) and bearer_secret(authorization) is not None:
        await check_token(state.settings, state.token_cache, authorization, "ingest")  # unsigned senders' other way in
    else:
        registry.verify(source, headers, raw, state.settings)
    require_json_type(headers.get("content-type", ""))
    made = registry.vendor_delivery(source, headers, raw, decode_json(raw), state.integration_config)
    result = (await store(state, started_waker(state), [made.delivery]))[0]
    return (200 if result.duplicate else 202), {**_accepted(result), "ignored": made.ignored}


@router.post(
    "/webhooks/generic",
    status_code=202,
    response_model=AcceptedOut | BatchAcceptedOut,
    responses={200: {"description": "Already received (a resend): nothing new stored"}},
    dependencies=[Depends(require_scope("ingest"))],
)
async def generic_webhook(
    request: Request, response: Response, body: Annotated[JsonBody, Depends(json_body)]
) -> AcceptedOut | BatchAcceptedOut:
    """One generic event, or an array of up to 500 for a backfill (see docs/webhooks.md)."""
    status, payload = await accept_generic(app_state(request), header_map(request.scope["headers"]), body.value)
    response.status_code = status
    if isinstance(body.value, list):
        return BatchAcceptedOut.model_validate(payload)
    return AcceptedOut.model_validate(payload)


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
) -> VendorAcceptedOut:
    """A tool's own webhook, verified with its own scheme (docs/integrations/<source>.md).

    Order of checks: size (413), signature (401, before anything is parsed), content type (415),
    JSON (400), the fields we need (422). Event types we do not use are stored and answered 202 with
    ``ignored`` set, so the sender keeps the hook enabled.
    """
    if source not in registry.VENDORS:
        raise NotFound(f"no webhook for {source!r}; sources: generic, {', '.join(sorted(registry.VENDORS))}")
    status, payload = await accept_vendor(app_state(request), source, header_map(request.scope["headers"]), raw)
    response.status_code = status
    return VendorAcceptedOut.model_validate(payload)
