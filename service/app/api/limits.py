"""The edge every request with a body passes first: the body cap, and the token before the body.

One ASGI middleware in front of everything (bolt, the admin routes, the webhooks), so no route can read
a body its own way:

- **Cap (413).** ``FRICTIONLOG_MAX_BODY_BYTES`` is applied as bytes arrive. A declared
  ``Content-Length`` over the cap is answered at once, before anything is read; a body that streams past
  the cap (chunked, or a lying length) is cut off there: the application sees the client go away and
  whatever it was about to answer is replaced by the 413. Nothing past the cap is ever buffered.
- **Token first (401).** A request under ``/api/`` that sends a body must carry a valid API token before
  its body is read — FastAPI parses a route's JSON body before it runs the route's dependencies, so
  without this a request with no token got a 422 about its JSON. The scope is still checked by the
  route (403).

Both answer in the documented envelope ``{"error": {code, message, field}}``.
"""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.app.api.errors import status_of
from service.app.api.principal import TokenCache, authenticate
from service.core.errors import AppError, Unauthenticated
from service.core.settings import Settings
from service.core.tokens import hash_token

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOKEN_FIRST_PREFIX = "/api/"


def _envelope(status: int, code: str, message: str, field: str | None = None) -> list[Message]:
    body = json.dumps({"error": {"code": code, "message": message, "field": field}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    if status == 413:
        headers.append((b"connection", b"close"))
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class RequestGuard:
    def __init__(self, app: ASGIApp, settings: Settings, token_cache: TokenCache) -> None:
        self.app = app
        self.settings = settings
        self.token_cache = token_cache

    async def _reply(self, send: Send, status: int, code: str, message: str, field: str | None = None) -> None:
        for message_ in _envelope(status, code, message, field):
            await send(message_)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self.settings.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await self._reply(send, 413, "payload_too_large", f"body is {declared.strip()} bytes; the limit is {limit}")
            return
        if scope["path"].startswith(TOKEN_FIRST_PREFIX):
            refusal = await self._check_token(scope)
            if refusal is not None:
                await self._reply(send, status_of(refusal), refusal.code, refusal.message, refusal.field)
                return
        await self._capped(scope, receive, send, limit)

    async def _check_token(self, scope: Scope) -> AppError | None:
        authorization = _header(scope, b"authorization") or ""
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return Unauthenticated("an API token is required: Authorization: Bearer <token>")
        if self.token_cache.get(hash_token(secret.strip())) is not None:  # seen lately: no thread hop
            return None
        try:
            await run_in_threadpool(authenticate, self.settings, self.token_cache, secret.strip())
        except AppError as exc:  # 401 invalid token, 503 database down and token unknown
            return exc
        return None

    async def _capped(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        size = 0
        over = False
        forwarded = False  # the application's own answer began (before the cap was hit): let it finish
        replaced = False

        async def counted() -> Message:
            nonlocal size, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    over = True  # the application sees the client leave; the rest is never read
                    return {"type": "http.disconnect"}
            return message

        async def too_large() -> None:
            nonlocal replaced
            if not replaced:
                replaced = True
                await self._reply(send, 413, "payload_too_large", f"body is over the limit of {limit} bytes")

        async def guarded(message: Message) -> None:
            nonlocal forwarded
            if over and not forwarded:
                await too_large()  # whatever the application answers to a cut-off body is dropped
                return
            if message["type"] == "http.response.start":
                forwarded = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not over or forwarded:
                raise
        if over and not forwarded:
            await too_large()
