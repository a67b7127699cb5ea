"""A lean ASGI path for ``POST /webhooks/generic``, the route that carries the ingest rate.

Profiled under load (py-spy, ``BENCHMARKS.md``), a request through FastAPI's routing spent more time in
the framework — route matching, dependency solving (three dependencies, ``HTTPBearer``), response-model
serialisation, the exception middlewares — than in this project's validation and the database together.
This middleware answers that one route itself, with the same checks in the same order and the same
error envelope as the FastAPI route, which stays declared in ``service.app.api.routes.webhooks`` for the
OpenAPI schema and as the reference:

token (401 / 403, before the body is read), content type (415), body cap (413), JSON (400), the generic
schema (422, ``integrations.generic.deliveries``), then the group-committed insert — every 2xx is
committed before it is sent; the spool when the database cannot commit.

It sits inside the edge middlewares (``RequestGuard``, ``SecurityHeaders``, ``MetricsMiddleware``), so the
body cap, the security headers and the request metrics apply unchanged. An exception it does not map
propagates to Starlette's error middleware, whose handler answers the same 500 envelope as before.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from integrations import generic, registry
from service.app.api.body import decode_json, require_json_type
from service.app.api.errors import MalformedBody, PayloadTooLarge, status_of
from service.app.api.principal import authenticate
from service.app.api.routes.webhooks import store
from service.app.api.state import AppState
from service.core.errors import AppError, Forbidden, Unauthenticated
from service.core.settings import Settings
from service.core.tokens import hash_token
from service.figures.cost.currency import Currencies
from service.ingest import inbox

PATH = "/webhooks/generic"
SCOPE = "ingest"


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name, the first of a repeated one (as Starlette's ``Headers``
    reads them), read once."""
    found: dict[str, str] = {}
    for key, value in scope["headers"]:
        found.setdefault(bytes(key).decode("latin-1").lower(), bytes(value).decode("latin-1"))
    return found


def _json_response(status: int, payload: Any, *, authenticate_header: bool = False) -> list[Message]:
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    if authenticate_header:
        headers.append((b"www-authenticate", b"Bearer"))
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


def _error(exc: AppError) -> list[Message]:
    status = status_of(exc)
    envelope = {"error": {"code": exc.code, "message": exc.message, "field": exc.field}}
    return _json_response(status, envelope, authenticate_header=status == 401)


class GenericIngest:
    """Answers ``POST /webhooks/generic``; passes every other request to the application."""

    def __init__(self, app: ASGIApp, route: object | None = None) -> None:
        self.app = app
        self._route = route
        self._currencies_for: tuple[Settings, Currencies] | None = None
        """The FastAPI route it stands in for: set on the scope, so the request metrics label it as before."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self._route is not None:
            scope["route"] = self._route
        try:
            messages = await self._handle(scope, receive)
        except AppError as exc:
            messages = _error(exc)
        except UnicodeEncodeError:  # a lone surrogate that reached a string field: not storable text
            messages = _error(MalformedBody("the request contains text that is not valid Unicode"))
        for message in messages:
            await send(message)

    async def _handle(self, scope: Scope, receive: Receive) -> list[Message]:
        state: AppState = scope["app"].state.frictionlog  # ``app_state``, without a Request object
        headers = _headers(scope)
        await self._authorize(state, headers)
        require_json_type(headers.get("content-type", ""))
        raw = await self._body(headers, receive, state.settings.max_body_bytes)
        value = decode_json(raw)
        made = generic.deliveries(value, headers=registry.kept_headers(headers), currencies=self._currencies(state))
        if state.waker is None:
            raise RuntimeError("the app has not started: no waker yet")
        results = await store(state, state.waker, made)
        new = sum(not result.duplicate for result in results)
        status = 202 if new else 200
        if not isinstance(value, list):
            return _json_response(status, _accepted(results[0]))
        payload = {"accepted": new, "duplicates": len(results) - new, "events": [_accepted(r) for r in results]}
        return _json_response(status, payload)

    def _currencies(self, state: AppState) -> Currencies:
        """``Currencies.from_settings``, built once per settings object rather than once per request."""
        cached = self._currencies_for
        if cached is None or cached[0] is not state.settings:
            cached = self._currencies_for = (state.settings, Currencies.from_settings(state.settings))
        return cached[1]

    @staticmethod
    async def _authorize(state: AppState, headers: dict[str, str]) -> None:
        """``require_scope("ingest")``: 401 without a valid bearer token, 403 without the scope."""
        scheme, secret = get_authorization_scheme_param(headers.get("authorization"))
        if not (scheme and secret) or scheme.lower() != "bearer":
            raise Unauthenticated("an API token is required: Authorization: Bearer <token>")
        principal = state.token_cache.get(hash_token(secret))
        if principal is None:  # a miss reads the database, in a worker thread
            principal = await run_in_threadpool(authenticate, state.settings, state.token_cache, secret)
        if SCOPE not in principal.scopes:
            raise Forbidden(f"this token lacks the {SCOPE!r} scope")

    @staticmethod
    async def _body(headers: dict[str, str], receive: Receive, limit: int) -> bytes:
        """``read_capped``: the body, refused with 413 as soon as it passes the cap."""
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"body is {declared} bytes; the limit is {limit}")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise MalformedBody("the client disconnected before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"body is over the limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _accepted(result: inbox.Accepted) -> dict[str, object]:
    return {"id": result.id, "duplicate": result.duplicate}
