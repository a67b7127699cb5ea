"""The edge every request with a body passes first: the body cap, and the token before the body.

One ASGI middleware in front of everything (bolt, the admin routes, the webhooks, the web pages, and the
lean ingest path of ``POST /webhooks/generic``), so no route can read a body its own way. This is the only
place the cap is applied: a route reads its body whole (``service.app.api.body``) and a body cut off here
looks to it like a client that left, whose answer is then replaced by the 413.

- **Cap (413).** ``FRICTIONLOG_MAX_BODY_BYTES`` is applied as bytes arrive. A declared
  ``Content-Length`` over the cap is answered at once, before anything is read; a body that streams past
  the cap (chunked, or a lying length) is cut off there: the application sees the client go away and
  whatever it was about to answer is replaced by the 413. Nothing past the cap is ever buffered.
- **Token first (401).** A request under ``/api/`` that sends a body must carry a valid API token before
  its body is read — FastAPI parses a route's JSON body before it runs the route's dependencies, so
  without this a request with no token got a 422 about its JSON. The scope is still checked by the
  route (403).

Both answer in the documented envelope (``service.app.api.errors``), and the token check is the one of
every way in (``service.app.api.auth``).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.app.api.auth import check_token
from service.app.api.errors import app_error_messages, error_messages
from service.app.api.principal import TokenCache
from service.core.errors import AppError
from service.core.settings import Settings

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOKEN_FIRST_PREFIX = "/api/"


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

    @staticmethod
    async def _reply(send: Send, messages: list[Message]) -> None:
        for message in messages:
            await send(message)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self.settings.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            too_large = f"body is {declared.strip()} bytes; the limit is {limit}"
            await self._reply(send, error_messages(413, "payload_too_large", too_large))
            return
        if scope["path"].startswith(TOKEN_FIRST_PREFIX):
            try:  # any valid token; the route checks its scope (403)
                await check_token(self.settings, self.token_cache, _header(scope, b"authorization"), None)
            except AppError as refusal:  # 401 invalid token, 503 database down and token unknown
                await self._reply(send, app_error_messages(refusal))
                return
        await self._capped(scope, receive, send, limit)

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
                cut = f"body is over the limit of {limit} bytes"
                await self._reply(send, error_messages(413, "payload_too_large", cut))

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
