"""Web sessions: one signed cookie (itsdangerous), HttpOnly, SameSite=Lax, Secure behind TLS, with an expiry.

The cookie holds who signed in (a token id or a Slack user id, never a secret), the CSRF token every POST
form must echo, when the session ends, and the id of its server-side record (``session_store``), checked on
every request: signing out ends the session everywhere its cookie was copied to. A visitor who has not
signed in gets one too, holding only the CSRF token, so the sign-in form itself is protected. Roles are not
trusted from the cookie: they are looked up again on every request (a revoked token or a removed Slack
admin takes effect at once).
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from service.core.settings import Settings

COOKIE = "frictionlog_session"
OIDC_COOKIE = "frictionlog_oidc"
OIDC_SECONDS = 600
"""A sign-in round trip (Slack, or an OpenID Connect provider) must come back within ten minutes."""


@dataclass(frozen=True, slots=True)
class WebSession:
    csrf: str
    subject: str | None = None
    """``token:<id>`` or ``slack:<user id>``; None before sign-in."""
    name: str | None = None
    expires: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)
    sid: str | None = None
    """The server-side session's id (``session_store``): checked on every request, so sign-out is final."""

    @property
    def signed_in(self) -> bool:
        return self.subject is not None and self.expires > time.time()


def new_session() -> WebSession:
    return WebSession(csrf=secrets.token_urlsafe(24))


def signed_in(subject: str, name: str, hours: float, sid: str) -> WebSession:
    """A fresh session (a new CSRF token too: nothing set before sign-in carries over), naming the server-side
    session ``sid`` opened for it."""
    return replace(new_session(), subject=subject, name=name, expires=time.time() + hours * 3600, sid=sid)


KEY_FILE = "session.key"
"""Beside the spool under ``var/``: embedded mode's session key, made once (mode 0600)."""


def kept_secret(directory: Path) -> str:
    """The key in ``directory/session.key``, made on first use, readable by this user alone: embedded mode
    signs in once across restarts. Two processes starting together agree (the file is created exclusively)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / KEY_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32))
        handle.flush()
        os.fsync(handle.fileno())
    return path.read_text(encoding="ascii").strip()


def session_secret(settings: Settings) -> str:
    """FRICTIONLOG_SESSION_SECRET; else, embedded, the key kept in ``var/``; else (distributed mode without
    one, warned at start) a key of this process alone."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    if settings.embedded:
        return kept_secret(settings.spool_dir.parent)
    return secrets.token_hex(32)


class SessionCodec:
    def __init__(self, settings: Settings) -> None:
        secret = session_secret(settings)
        self._serializer = URLSafeTimedSerializer(secret, salt="frictionlog.session")
        self._oidc = URLSafeTimedSerializer(secret, salt="frictionlog.oidc")
        self.max_age = int(settings.session_hours * 3600)
        self.secure_always = settings.public_url.startswith("https://")

    def read(self, request: Request) -> WebSession | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            value = self._serializer.loads(raw, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(value, dict) or not isinstance(value.get("c"), str):
            return None
        sid = value.get("i") if isinstance(value.get("i"), str) else None
        session = WebSession(
            csrf=value["c"], subject=value.get("s"), name=value.get("n"), expires=value.get("e", 0), sid=sid
        )
        if session.subject is not None and not session.signed_in:
            return new_session()  # expired: signed out, with a fresh CSRF token
        return session

    def write(self, request: Request, response: Response, session: WebSession) -> None:
        value = {"c": session.csrf, "s": session.subject, "n": session.name, "e": session.expires, "i": session.sid}
        response.set_cookie(
            COOKIE,
            self._serializer.dumps(value),
            max_age=self.max_age,
            httponly=True,
            samesite="lax",
            secure=self.secure(request),
            path="/",
        )

    def secure(self, request: Request) -> bool:
        return self.secure_always or request.url.scheme == "https"

    def write_oidc(self, request: Request, response: Response, state: dict[str, str], *, path: str) -> None:
        """The state and nonce of a sign-in round trip, for the provider's callback under ``path`` only."""
        response.set_cookie(
            OIDC_COOKIE,
            self._oidc.dumps(state),
            max_age=OIDC_SECONDS,
            httponly=True,
            samesite="lax",
            secure=self.secure(request),
            path=path,
        )

    def read_oidc(self, request: Request) -> dict[str, str] | None:
        raw = request.cookies.get(OIDC_COOKIE)
        if not raw:
            return None
        try:
            value = self._oidc.loads(raw, max_age=OIDC_SECONDS)
        except BadSignature:
            return None
        return value if isinstance(value, dict) else None


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two tokens (False if either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a path on this site only (never ``//host`` or a full URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
