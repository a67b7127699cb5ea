"""A lean ASGI path for ``POST /webhooks/generic``, the route that carries the ingest rate.

Profiled under load (py-spy, ``BENCHMARKS.md``), a request through FastAPI's routing spent more time in
the framework — route matching, dependency solving (three dependencies, ``HTTPBearer``), response-model
serialisation, the exception middlewares — than in this project's validation and the database together.
This middleware answers that one route itself, with the same checks in the same order and the same
error envelope as the FastAPI route, which stays declared in ``service.app.api.routes.webhooks`` for the
OpenAPI schema and as the reference:

token (401 / 403, before the body is read), content type (415), JSON (400), the generic schema (422,
``integrations.generic.deliveries``), then the group-committed insert — every 2xx is committed before it
is sent; the spool when the database cannot commit.

It owns none of the edge's rules, it calls them: the token check is ``service.app.api.auth.check_token``,
the body is read by ``service.app.api.body.read_body`` (the body cap, 413, is the ``RequestGuard`` this
path sits inside, with ``SecurityHeaders`` and ``MetricsMiddleware``), and every refusal is rendered by
``service.app.api.errors``. An exception it does not map propagates to Starlette's error middleware, whose
handler answers the same 500 envelope as before.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from integrations import generic, registry
from service.app.api.auth import check_token
from service.app.api.body import decode_json, read_body, require_json_type
from service.app.api.errors import MalformedBody, app_error_messages, json_messages, render_json
from service.app.api.routes.webhooks import store
from service.app.api.state import AppState
from service.core.errors import AppError
from service.core.settings import Settings
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
            messages = app_error_messages(exc)
        except UnicodeEncodeError:  # a lone surrogate that reached a string field: not storable text
            messages = app_error_messages(MalformedBody("the request contains text that is not valid Unicode"))
        for message in messages:
            await send(message)

    async def _handle(self, scope: Scope, receive: Receive) -> list[Message]:
        state: AppState = scope["app"].state.frictionlog  # ``app_state``, without a Request object
        headers = _headers(scope)
        await check_token(state.settings, state.token_cache, headers.get("authorization"), SCOPE)
        require_json_type(headers.get("content-type", ""))
        value = decode_json(await read_body(receive))
        made = generic.deliveries(value, headers=registry.kept_headers(headers), currencies=self._currencies(state))
        if state.waker is None:
            raise RuntimeError("the app has not started: no waker yet")
        results = await store(state, state.waker, made)
        new = sum(not result.duplicate for result in results)
        status = 202 if new else 200
        if not isinstance(value, list):
            return json_messages(status, render_json(_accepted(results[0])))
        payload = {"accepted": new, "duplicates": len(results) - new, "events": [_accepted(r) for r in results]}
        return json_messages(status, render_json(payload))

    def _currencies(self, state: AppState) -> Currencies:
        """``Currencies.from_settings``, built once per settings object rather than once per request."""
        cached = self._currencies_for
        if cached is None or cached[0] is not state.settings:
            cached = self._currencies_for = (state.settings, Currencies.from_settings(state.settings))
        return cached[1]


def _accepted(result: inbox.Accepted) -> dict[str, object]:
    return {"id": result.id, "duplicate": result.duplicate}
