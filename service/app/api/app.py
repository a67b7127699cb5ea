"""The FastAPI application. ``create_app`` wires settings, the waker and (embedded mode) the in-process worker."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from integrations.config import IntegrationConfig
from integrations.slack.app import build_app
from service.app.api.errors import install_error_handlers
from service.app.api.fast_ingest import WebhookIngest, lean_source
from service.app.api.inbox_writer import InboxWriter
from service.app.api.limits import RequestGuard
from service.app.api.observability import Metrics, MetricsMiddleware
from service.app.api.principal import TokenCache
from service.app.api.routes import (
    catalogue,
    cost,
    digests,
    effects,
    events,
    friction,
    health,
    imports,
    metrics,
    slack,
    webhooks,
)
from service.app.api.security import SecurityHeaders, install_log_redaction
from service.app.api.slack_ports import build_ports
from service.app.api.state import AppState
from service.core.settings import Settings, get_settings
from service.figures.friction.categorise import configured_taxonomy
from service.ingest.cost_import import remove_stale_uploads
from service.ingest.spool import Spool
from service.migrations import upgrade
from workers.embedded import EmbeddedWorker
from workers.enqueue import Waker, celery_waker
from workers.spool import SpoolDrainer

log = logging.getLogger("frictionlog.api")


class App(FastAPI):
    """FastAPI, but the webhooks (the ingest rate) go straight to their own stack: the same
    ``ServerErrorMiddleware`` with the app's 500 handler and the same user middlewares in the same order —
    the body cap and token check, the security headers, the request metrics, then ``WebhookIngest`` — with
    none of FastAPI's per-request work that this route does not use: its OpenTelemetry check (no provider
    is configured here), the exception-telemetry wrapper, routing and the exception middleware."""

    _lean: ASGIApp | None = None

    def build_lean_stack(self) -> ASGIApp:
        """As ``Starlette.build_middleware_stack`` wraps the router, here wrapping the full app (which
        ``WebhookIngest`` passes anything else to; nothing else reaches this stack)."""
        error_handler = None
        for key, value in self.exception_handlers.items():
            if key in (500, Exception):
                error_handler = value
        app: ASGIApp = super().__call__
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return ServerErrorMiddleware(app, handler=error_handler, debug=self.debug)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            lean_source(scope) is not None and getattr(self, "max_body_size", None) is None
        ):  # FastAPI's own body cap is not set here
            if self.root_path:
                scope["root_path"] = self.root_path
            scope["app"] = self
            if self._lean is None:
                self._lean = self.build_lean_stack()
            await self._lean(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, *, waker: Waker | None = None) -> FastAPI:
    """Build the app. Embedded mode (no broker) runs the worker in-process; a given ``waker`` replaces both."""
    settings = settings or get_settings()

    def make_waker() -> Waker:
        if waker is not None:
            return waker
        if settings.embedded:
            worker = EmbeddedWorker(settings, waiting=state.inbox_writer.waiting)
            worker.start()
            return worker
        return celery_waker(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        install_log_redaction()  # after the server configured its loggers (uvicorn's access log)
        if settings.embedded:
            upgrade(settings.database_url)
        if removed := remove_stale_uploads(settings.import_dir):
            log.warning("api.stale_uploads_removed count=%s (a server stopped mid-upload)", removed)
        state.waker = started = make_waker()
        drainer = SpoolDrainer(state.spool, settings, started)
        drainer.start()
        if settings.slack_signing_secret is not None:
            ports = build_ports(settings, state.taxonomy, started)
            state.slack_handler = AsyncSlackRequestHandler(build_app(settings, ports))
        # Everything built so far (the libraries, the app, the taxonomy) lives as long as the process: keep
        # it out of the collector's full passes, which otherwise stall every request for ~150 ms each.
        gc.collect()
        gc.freeze()
        log.info("api.started mode=%s", "embedded" if settings.embedded else "distributed")
        try:
            yield
        finally:
            drainer.close()
            state.inbox_writer.close()
            started.close()

    app = App(
        title="Frictionlog",
        version="0.1.0",
        summary="Is the platform migration working? Deploys, incidents and friction, week by week.",
        lifespan=lifespan,
    )
    spool = Spool(settings.spool_dir, max_bytes=settings.spool_max_bytes)
    state = AppState(
        settings=settings,
        token_cache=TokenCache(settings.token_cache_seconds),
        integration_config=IntegrationConfig.from_settings(settings),
        spool=spool,
        inbox_writer=InboxWriter(settings.database_url, lock_timeout=settings.database_lock_timeout_seconds),
        taxonomy=configured_taxonomy(settings),
        metrics=Metrics(settings.database_url, spool),
    )
    app.state.frictionlog = state  # read only through service.app.api.state
    # Innermost: the lean path for the webhooks, inside every edge middleware (see its module).
    app.add_middleware(WebhookIngest, router=webhooks.router)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    app.add_middleware(SecurityHeaders)
    # Outermost: the body cap and the token check run before anything reads a body.
    app.add_middleware(RequestGuard, settings=settings, token_cache=state.token_cache)
    install_error_handlers(app)
    for module in (health, webhooks, slack, friction, events, catalogue, metrics, digests, cost, effects, imports):
        app.include_router(module.router)
    return app
