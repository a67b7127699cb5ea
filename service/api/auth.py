"""Bearer-token auth with scopes. Verified tokens are cached briefly so ingest does not read the DB each time."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool

from service.api.state import app_state
from service.db import session_scope
from service.errors import Forbidden, TransientError, Unauthenticated
from service.settings import Settings
from service.tokens import find_token, hash_token

bearer = HTTPBearer(auto_error=False, description="An API token made with `frictionlog tokens create`.")


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: int
    name: str
    scopes: frozenset[str]


class TokenCache:
    """token hash → (principal, expiry). Revocation takes effect within ``ttl`` seconds."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, *, stale: bool = False) -> Principal | None:
        """A fresh entry; with ``stale``, also an expired one (used only while the database is down)."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or (entry[1] < time.monotonic() and not stale):
            return None
        return entry[0]

    def put(self, key: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key] = (principal, time.monotonic() + self._ttl)


def authenticate(settings: Settings, cache: TokenCache, secret: str) -> Principal:
    key = hash_token(secret)
    principal = cache.get(key)
    if principal is not None:
        return principal
    try:
        with session_scope(settings.database_url) as session:
            token = find_token(session, secret)
            if token is None or token.id is None:
                raise Unauthenticated("invalid or revoked API token")
            principal = Principal(token_id=token.id, name=token.name, scopes=frozenset(token.scopes))
    except (OperationalError, InterfaceError) as exc:
        # The database is down: a token seen before keeps working, so ingest can go on to the spool.
        remembered = cache.get(key, stale=True)
        if remembered is None:
            raise TransientError("cannot check the token now: the database is unavailable") from exc
        return remembered
    cache.put(key, principal)
    return principal


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
