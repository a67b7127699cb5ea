"""Bearer-token auth with scopes. Verified tokens are cached briefly so ingest does not read the DB each time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from service.app.api.principal import Principal, authenticate
from service.app.api.state import app_state
from service.core.errors import Forbidden, Unauthenticated
from service.core.tokens import hash_token

bearer = HTTPBearer(auto_error=False, description="An API token made with `frictionlog tokens create`.")


def _secret(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthenticated("an API token is required: Authorization: Bearer <token>")
    return credentials.credentials


def _with_scope(principal: Principal, scope: str) -> Principal:
    if scope not in principal.scopes:
        raise Forbidden(f"this token lacks the {scope!r} scope")
    return principal


def authorize(request: Request, credentials: HTTPAuthorizationCredentials | None, scope: str) -> Principal:
    """The token's principal if it holds ``scope``: 401 without a valid token, 403 without the scope."""
    state = app_state(request)
    principal = authenticate(state.settings, state.token_cache, _secret(credentials))
    return _with_scope(principal, scope)


async def authorize_async(request: Request, credentials: HTTPAuthorizationCredentials | None, scope: str) -> Principal:
    """``authorize`` for async routes: a cached token is checked inline, only a miss reads the database
    (in a worker thread, so the event loop never waits on it)."""
    cached = app_state(request).token_cache.get(hash_token(_secret(credentials)))
    if cached is not None:
        return _with_scope(cached, scope)
    return await run_in_threadpool(authorize, request, credentials, scope)


def require_scope(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits a bearer token holding ``scope`` (401 without a valid token, 403 without it)."""

    async def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> Principal:
        return await authorize_async(request, credentials, scope)

    dependency.__name__ = f"require_{scope}"
    return dependency
