"""Who is looking at a page, and may they act: a session cookie (token or Slack sign-in) or a bearer token.

``read`` viewers see every page; only ``admin`` viewers get the triage, edit and replay forms, and only
they pass :func:`require_admin`. Every POST from a cookie session must carry the session's CSRF token.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlmodel import col, select

from service.app.api.auth import bearer, bearer_secret, check_token_sync
from service.app.api.state import app_state
from service.app.web import session_store
from service.app.web.sessions import SessionCodec, WebSession, new_session, same
from service.core.db import session_scope
from service.core.errors import AppError, Forbidden
from service.core.models import ApiToken
from service.core.settings import Settings
from service.core.vocab import Scope, grants

Role = Literal["read", "admin"]


class SignInRequired(AppError, code="sign_in_required"):
    """No session: a page request is sent to the sign-in page, then back (``next``)."""


class CsrfFailed(AppError, code="csrf_failed"):
    """A form post without this session's CSRF token."""


@dataclass(frozen=True, slots=True)
class Viewer:
    name: str
    role: Role
    via: Literal["session", "bearer"]
    csrf: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def role_of_scopes(scopes: Collection[str]) -> Role | None:
    """A token signs in as ``admin`` if it has that scope, as ``read`` with only read; ingest-only: never."""
    if grants(scopes, Scope.ADMIN):
        return "admin"
    return "read" if grants(scopes, Scope.READ) else None


def web_session(request: Request) -> WebSession:
    """This request's session (read once); a visitor without one gets a fresh one, written with the page."""
    cached: WebSession | None = getattr(request.state, "web_session", None)
    if cached is not None:
        return cached
    codec: SessionCodec = request.app.state.session_codec
    session = codec.read(request)
    if session is None:
        session = new_session()
        request.state.web_session_dirty = True
    request.state.web_session = session
    return session


def set_session(request: Request, session: WebSession) -> None:
    request.state.web_session = session
    request.state.web_session_dirty = True


def _session_role(settings: Settings, session: WebSession, given: str | None) -> Role | None:
    """The role now: a Slack user's from the admins setting, a token's from its scopes (a revoked token has
    none); an OpenID Connect sign-in's as the provider's claim gave it (``given``, kept server-side)."""
    subject = session.subject or ""
    kind, _, ident = subject.partition(":")
    if kind == "oidc":
        return "admin" if given == "admin" else "read" if given == "read" else None
    if kind == "slack":
        return "admin" if ident in settings.slack_admins else "read"
    if kind == "token" and ident.isdigit():
        with session_scope(settings.database_url) as db:
            scopes = db.exec(
                select(ApiToken.scopes).where(col(ApiToken.id) == int(ident), col(ApiToken.revoked_at).is_(None))
            ).first()
        return None if scopes is None else role_of_scopes(scopes)
    return None


def current_viewer(request: Request) -> Viewer | None:
    """The signed-in viewer, or None. A signed-out session (its server-side record revoked) or a revoked
    token's session ends here, not at the cookie's expiry."""
    settings: Settings = app_state(request).settings
    session = web_session(request)
    if session.signed_in:
        record = session_store.live(settings, session.sid, session.subject)
        role = _session_role(settings, session, record.role) if record is not None else None
        if role is not None:
            return Viewer(name=session.name or "", role=role, via="session", csrf=session.csrf)
        set_session(request, new_session())
        return None
    header = request.headers.get("authorization")
    if bearer_secret(header) is not None:  # the API's token check; the page's own scopes decide the role
        principal = check_token_sync(settings, app_state(request).token_cache, header, None)
        role = role_of_scopes(principal.scopes)
        if role is None:
            raise Forbidden("this token lacks the 'read' scope")
        return Viewer(name=principal.name, role=role, via="bearer", csrf="")
    return None


def require_viewer(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Viewer:
    viewer = current_viewer(request)
    if viewer is None:
        raise SignInRequired("sign in to see this page")
    return viewer


async def check_csrf(request: Request) -> None:
    """Every POST from a cookie session must echo the session's CSRF token in its ``csrf`` field."""
    session = web_session(request)
    form = await request.form()
    sent = form.get("csrf")
    if request.headers.get("authorization") and not request.cookies:
        return  # a bearer token, not a cookie: nothing a browser sends on its own
    if not isinstance(sent, str) or not same(sent, session.csrf):
        await form.close()  # an uploaded file's spooled copy goes with the refusal
        raise CsrfFailed("this form has expired or did not come from this site; reload the page and try again")


Viewing = Annotated[Viewer, Depends(require_viewer)]


def require_admin(viewer: Viewing) -> Viewer:
    if not viewer.is_admin:
        raise Forbidden("only admins can triage, edit the catalogue or replay events")
    return viewer


Admin = Annotated[Viewer, Depends(require_admin)]
Csrf = Depends(check_csrf)
