"""The one token check of every way in: bearer parsing, the token's principal, its scope.

The edge middleware (a body-carrying ``/api/`` request: the token before the body), the routes'
dependencies (:func:`require_scope`), the lean ingest path, the unsigned vendor webhooks and the web app
(a bearer header on a page, the token sign-in form) all call :func:`check_token`,
:func:`check_token_sync` or :func:`principal_of`. A token seen lately is answered from the
:class:`~service.app.api.principal.TokenCache` inline; only a miss reads the database, in a worker thread
when the caller runs on the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from service.app.api.principal import Principal, TokenCache, authenticate
from service.app.api.state import app_state
from service.core.errors import Forbidden, Unauthenticated
from service.core.settings import Settings
from service.core.tokens import hash_token
from service.core.vocab import grants

bearer = HTTPBearer(auto_error=False, description="An API token made with `frictionlog tokens create`.")
"""Declares the scheme in the OpenAPI schema; the check itself is :func:`check_token`."""

TOKEN_REQUIRED = "an API token is required: Authorization: Bearer <token>"


def bearer_secret(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (surrounding spaces dropped), or None."""
    scheme, _, secret = (authorization or "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        return None
    return secret


def with_scope(principal: Principal, scope: str | None) -> Principal:
    if scope is not None and not grants(principal.scopes, scope):
        raise Forbidden(f"this token lacks the {scope!r} scope")
    return principal


def _secret(authorization: str | None) -> str:
    secret = bearer_secret(authorization)
    if secret is None:
        raise Unauthenticated(TOKEN_REQUIRED)
    return secret


async def principal_of(settings: Settings, cache: TokenCache, secret: str) -> Principal:
    """The token's principal (401 unknown or revoked, 503 database down and token not seen before): from
    the cache inline, else from the database in a worker thread, so the event loop never waits on it."""
    cached = cache.get(hash_token(secret))
    if cached is not None:
        return cached
    return await run_in_threadpool(authenticate, settings, cache, secret)


async def check_token(settings: Settings, cache: TokenCache, authorization: str | None, scope: str | None) -> Principal:
    """The caller's principal: 401 without a valid bearer token, 403 if it lacks ``scope`` (None: any)."""
    return with_scope(await principal_of(settings, cache, _secret(authorization)), scope)


def check_token_sync(settings: Settings, cache: TokenCache, authorization: str | None, scope: str | None) -> Principal:
    """:func:`check_token` for code already off the event loop (sync routes and pages)."""
    return with_scope(authenticate(settings, cache, _secret(authorization)), scope)


def require_scope(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits a bearer token holding ``scope`` (401 without a valid token, 403 without it)."""

    async def dependency(
        request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> Principal:
        state = app_state(request)
        return await check_token(state.settings, state.token_cache, request.headers.get("authorization"), scope)

    dependency.__name__ = f"require_{scope}"
    return dependency
