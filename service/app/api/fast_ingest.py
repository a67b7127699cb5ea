"""A lean ASGI path for the webhooks, the routes that carry the ingest rate: ``POST /webhooks/generic`` and
``POST /webhooks/{source}`` for every source in ``integrations.registry.VENDORS``.

Profiled under load (py-spy, ``BENCHMARKS.md``), a request through FastAPI's routing spent more time in
the framework — route matching, dependency solving (three dependencies, ``HTTPBearer``), response-model
serialisation, the exception middlewares — than in this project's validation and the database together.
This middleware answers those routes itself. What a webhook does is not here but in
``service.app.api.routes.webhooks`` (``accept_generic``, ``accept_vendor``), which the FastAPI routes call
too; they stay declared there for the OpenAPI schema and as the reference (``tests/test_fast_ingest.py``
compares every answer of both ways in).

The order of checks is the routes' — generic: token (401 / 403, before the body is read), content type
(415), JSON (400), the generic schema (422); a vendor: its signature (401) over the body, then content
type, JSON, the fields — then the group-committed insert: every 2xx is committed before it is sent; the
spool when the database cannot commit.

It owns none of the edge's rules, it calls them: the token check is ``service.app.api.auth.check_token``,
the body is read by ``service.app.api.body.read_body`` (the body cap, 413, is the ``RequestGuard`` this
path sits inside, with ``SecurityHeaders`` and ``MetricsMiddleware``), and every refusal is rendered by
``service.app.api.errors``. An exception it does not map propagates to Starlette's error middleware, whose
handler answers the same 500 envelope as before. An unknown source goes on to the FastAPI route (404).
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from integrations import registry
from service.app.api.auth import check_token
from service.app.api.body import decode_json, read_body, require_json_type
from service.app.api.errors import MalformedBody, app_error_messages, json_messages, render_json
from service.app.api.routes.webhooks import accept_generic, accept_vendor, header_map
from service.app.api.state import AppState
from service.core.errors import AppError

PREFIX = "/webhooks/"
GENERIC = "generic"
PATH = PREFIX + GENERIC
SCOPE = "ingest"


def lean_source(scope: Scope) -> str | None:
    """The webhook source this path answers (``generic`` or a vendor), or None: not a lean request."""
    if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith(PREFIX):
        return None
    source: str = scope["path"][len(PREFIX) :]
    return source if source == GENERIC or source in registry.VENDORS else None


class WebhookIngest:
    """Answers the webhooks; passes every other request to the application."""

    def __init__(self, app: ASGIApp, router: APIRouter | None = None) -> None:
        self.app = app
        self._routes: dict[str, object] = {}
        """The FastAPI routes it stands in for, by path template: set on the scope, so the request metrics
        label them as before."""
        for route in router.routes if router is not None else ():
            self._routes[str(getattr(route, "path", ""))] = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        source = lean_source(scope)
        if source is None:
            await self.app(scope, receive, send)
            return
        template = PATH if source == GENERIC else PREFIX + "{source}"
        if template in self._routes:
            scope["route"] = self._routes[template]
        if source != GENERIC:
            scope["path_params"] = {"source": source}
        try:
            messages = await self._handle(scope, receive, source)
        except AppError as exc:
            messages = app_error_messages(exc)
        except UnicodeEncodeError:  # a lone surrogate that reached a string field: not storable text
            messages = app_error_messages(MalformedBody("the request contains text that is not valid Unicode"))
        for message in messages:
            await send(message)

    @staticmethod
    async def _handle(scope: Scope, receive: Receive, source: str) -> list[Message]:
        state: AppState = scope["app"].state.frictionlog  # ``app_state``, without a Request object
        headers = header_map(scope["headers"])
        if source == GENERIC:
            await check_token(state.settings, state.token_cache, headers.get("authorization"), SCOPE)
            require_json_type(headers.get("content-type", ""))
            status, payload = await accept_generic(state, headers, decode_json(await read_body(receive)))
        else:
            status, payload = await accept_vendor(state, source, headers, await read_body(receive))
        return json_messages(status, render_json(payload))
