"""The whole application: the API (``service.app.api.app``) plus the web pages, their static files, and error
pages in the app's frame for page requests (API paths keep their JSON errors)."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.app.api.app import create_app as create_api
from service.app.api.errors import RETRY_AFTER_SECONDS, status_of
from service.app.web import warm
from service.app.web.auth import CsrfFailed, SignInRequired
from service.app.web.cache import PageMemo
from service.app.web.pages import (
    cost,
    data,
    digests,
    events,
    friction,
    imports,
    overview,
    queue,
    scorecard,
    services,
    signin,
)
from service.app.web.render import page
from service.app.web.sessions import SessionCodec
from service.core.errors import AppError
from service.core.settings import Settings, get_settings
from workers.enqueue import Waker

log = logging.getLogger("frictionlog.web")
STATIC = Path(__file__).resolve().parent / "static"
NOT_PAGES = ("/api/", "/webhooks/", "/slack/", "/metrics", "/healthz", "/readyz", "/docs", "/openapi", "/redoc")


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(NOT_PAGES)


def create_app(settings: Settings | None = None, *, waker: Waker | None = None) -> FastAPI:
    """The API app with the web pages on top (what ``frictionlog serve`` and ``api`` run)."""
    settings = settings or get_settings()
    app = create_api(settings, waker=waker)
    app.state.session_codec = SessionCodec(settings)
    if settings.session_secret is None and not settings.embedded:
        log.warning("web.session_secret_unset: sessions end at a restart and are not shared between API processes")
    app.state.page_memo = PageMemo()
    api_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[None]:
        async with api_lifespan(running):
            warming = warm.start(settings, running.state.page_memo)
            try:
                yield
            finally:
                # Never leave it reading while the app shuts down (and the database may go away).
                await asyncio.to_thread(warming.join, warm.JOIN_SECONDS)

    app.router.lifespan_context = lifespan
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        signin,
        overview,
        scorecard,
        events,
        services,
        cost,
        queue,
        friction,
        digests,
        data,
        imports,
    ):  # queue: before /friction/{id}
        app.include_router(module.router)
    _install_page_errors(app)
    return app


async def _json(handler: Any, request: Request, exc: Exception) -> Response:
    """The API's own JSON answer for a request that is not a page."""
    result = handler(request, exc)
    if inspect.isawaitable(result):
        result = await result
    response: Response = result
    return response


def _install_page_errors(app: FastAPI) -> None:
    json_app_error = app.exception_handlers[AppError]
    json_http_error = app.exception_handlers[StarletteHTTPException]

    async def app_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppError)
        if not is_page(request):
            return await _json(json_app_error, request, exc)
        if isinstance(exc, SignInRequired):
            # A retired ?token= link must not carry its secret on into the sign-in URL (history, logs).
            query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k.lower() != "token"])
            target = request.url.path + (f"?{query}" if query else "")
            location = f"/signin?next={quote(target, safe='')}"
            response: Response = RedirectResponse(location, status_code=303)
            if request.headers.get("hx-request"):
                response.headers["HX-Redirect"] = location
            return response
        status = 403 if isinstance(exc, CsrfFailed) else status_of(exc)
        title = {401: "Not signed in", 403: "Not allowed", 404: "Not found", 409: "Conflict"}.get(status, "Sorry")
        shown = page(request, "error.html", title=title, status_code=status, message=exc.message, status=status)
        if status == 503:
            shown.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return shown

    async def http_error(request: Request, exc: Exception) -> Response:
        """No route matched: the framed 404 page for a browser (it asks for HTML), the API's JSON otherwise."""
        assert isinstance(exc, StarletteHTTPException)
        wants_html = "text/html" in request.headers.get("accept", "")
        if not is_page(request) or exc.status_code != 404 or not wants_html:
            return await _json(json_http_error, request, exc)
        return page(request, "error.html", title="Not found", status_code=404, message=None, status=404)

    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
