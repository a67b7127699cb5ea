"""Who is calling: an API token's principal, checked against the database through a short-lived cache.

The one token check of every way in (the routes' dependencies, the fast ingest path, the web app's token
sign-in). Kept apart from the FastAPI dependencies in ``service.app.api.auth`` so the app state can hold the
cache without importing the routes' machinery."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy.exc import InterfaceError, OperationalError

from service.core.db import session_scope
from service.core.errors import TransientError, Unauthenticated
from service.core.settings import Settings
from service.core.tokens import find_token, hash_token


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
