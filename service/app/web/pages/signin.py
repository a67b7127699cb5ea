"""Sign in (an API token, or Slack through OpenID Connect), sign out; then on to the page asked for."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, TypeGuard

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from service.app.api.auth import check_token_sync
from service.app.api.state import app_state
from service.app.web import oidc, session_store, sso
from service.app.web.auth import Csrf, current_viewer, role_of_scopes, set_session, web_session
from service.app.web.render import page, write_session
from service.app.web.sessions import OIDC_COOKIE, SessionCodec, new_session, safe_next, same, signed_in
from service.core.errors import AppError

log = logging.getLogger("frictionlog.web")
router = APIRouter(include_in_schema=False)
Next = Annotated[str | None, Query(alias="next", max_length=2000)]


def _signin_page(request: Request, target: str, *, error: str | None = None, status_code: int = 200) -> Response:
    settings = app_state(request).settings
    return page(
        request,
        "signin.html",
        title="Sign in",
        status_code=status_code,
        next=target,
        error=error,
        slack=oidc.enabled(settings),
        sso=sso.enabled(settings),
        viewer=None,
    )


@router.get("/signin")
def signin_form(request: Request, target: Next = None) -> Response:
    if current_viewer(request) is not None:
        return RedirectResponse(safe_next(target), status_code=303)
    return _signin_page(request, safe_next(target))


@router.post("/signin", dependencies=[Csrf])
def signin_with_token(
    request: Request,
    token: Annotated[str, Form(max_length=512)] = "",
    target: Annotated[str, Form(alias="next", max_length=2000)] = "/",
) -> Response:
    settings = app_state(request).settings
    try:
        # the API's token check, on the pasted token as if it came in an Authorization header
        principal = check_token_sync(settings, app_state(request).token_cache, f"Bearer {token}", None)
    except AppError:
        principal = None
    role = role_of_scopes(principal.scopes) if principal else None
    if principal is None or role is None:
        return _signin_page(
            request, safe_next(target), error="That token is not valid, or it has no read scope.", status_code=401
        )
    subject = f"token:{principal.token_id}"
    sid = session_store.open_session(settings, subject)
    set_session(request, signed_in(subject, principal.name, settings.session_hours, sid))
    log.info("web.signed_in via=token token_id=%s role=%s", principal.token_id, role)
    response = RedirectResponse(safe_next(target), status_code=303)
    write_session(request, response)
    return response


@router.get("/signin/slack")
def signin_with_slack(request: Request, target: Next = None) -> Response:
    settings = app_state(request).settings
    if not oidc.enabled(settings):
        return _signin_page(request, safe_next(target), error="Sign in with Slack is not set up here.", status_code=404)
    url, state = oidc.start(settings)
    response = RedirectResponse(url, status_code=302)
    codec: SessionCodec = request.app.state.session_codec
    codec.write_oidc(request, response, {**state, "next": safe_next(target)}, path="/signin/slack")
    return response


@dataclass(frozen=True, slots=True)
class Returned:
    """A provider's redirect back to a callback: what the sign-in's start kept in its cookie (None: none, or
    expired), where to go after, and the query's ``state`` and ``error``."""

    kept: dict[str, str] | None
    target: str
    state: str | None
    error: str | None

    def accepts(self, code: str | None) -> TypeGuard[str]:
        """Whether the sign-in may finish: a code, no error, and the state its start kept."""
        return bool(code) and not self.error and self.kept is not None and same(self.state, self.kept.get("state"))

    def refusal(self, cancelled: str) -> str:
        return cancelled if self.error else "That sign-in link has expired; start again."

    @property
    def nonce(self) -> str:
        return (self.kept or {}).get("nonce", "")


def _returned(
    request: Request,
    state: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Returned:
    codec: SessionCodec = request.app.state.session_codec
    kept = codec.read_oidc(request)
    return Returned(kept, safe_next(kept.get("next") if kept else None), state, error)


ReturnedQuery = Annotated[Returned, Depends(_returned)]


async def _refused(request: Request, target: str, reason: str, status_code: int) -> Response:
    return await run_in_threadpool(_signin_page, request, target, error=reason, status_code=status_code)


async def _signed_in(
    request: Request, back: Returned, subject: str, name: str, *, started_at: str, role: str | None = None
) -> Response:
    """Open the server-side session, sign the browser in and send it on; forget the cookie the sign-in's start
    (at ``started_at``) kept."""
    settings = app_state(request).settings
    sid = await run_in_threadpool(session_store.open_session, settings, subject, role=role)
    set_session(request, signed_in(subject, name, settings.session_hours, sid))
    response = RedirectResponse(back.target, status_code=303)
    response.delete_cookie(OIDC_COOKIE, path=started_at)
    write_session(request, response)
    return response


@router.get("/signin/slack/callback")
async def slack_callback(
    request: Request, back: ReturnedQuery, code: Annotated[str | None, Query(max_length=1000)] = None
) -> Response:
    if not back.accepts(code):
        return await _refused(request, back.target, back.refusal("Slack sign-in was cancelled."), 400)
    settings = app_state(request).settings
    try:
        who = await oidc.finish(settings, code=code, nonce=back.nonce)
    except AppError as exc:
        return await _refused(request, back.target, exc.message, 401)
    response = await _signed_in(request, back, f"slack:{who.user_id}", who.name, started_at="/signin/slack")
    log.info("web.signed_in via=slack user=%s admin=%s", who.user_id, who.user_id in settings.slack_admins)
    return response


SSO_PATH = "/signin/sso"


@router.get(SSO_PATH)
async def signin_with_sso(request: Request, target: Next = None) -> Response:
    settings = app_state(request).settings
    if not sso.enabled(settings):
        return await _refused(request, safe_next(target), "Single sign-on is not set up here.", 404)
    try:
        url, state = await sso.start(settings)
    except AppError as exc:
        return await _refused(request, safe_next(target), exc.message, 502)
    response = RedirectResponse(url, status_code=302)
    codec: SessionCodec = request.app.state.session_codec
    codec.write_oidc(request, response, {**state, "next": safe_next(target)}, path=SSO_PATH)
    return response


@router.get(sso.CALLBACK)
async def sso_callback(
    request: Request, back: ReturnedQuery, code: Annotated[str | None, Query(max_length=4000)] = None
) -> Response:
    settings = app_state(request).settings
    if not sso.enabled(settings) or not back.accepts(code):
        return await _refused(request, back.target, back.refusal("The sign-in was cancelled."), 400)
    try:
        who = await sso.finish(settings, code=code, nonce=back.nonce)
    except AppError as exc:
        return await _refused(request, back.target, exc.message, 401)
    response = await _signed_in(request, back, f"oidc:{who.subject}", who.name, started_at=SSO_PATH, role=who.role)
    log.info("web.signed_in via=oidc subject=%s role=%s", who.subject, who.role)
    return response


@router.post("/signout", dependencies=[Csrf])
def signout(request: Request, everywhere: Annotated[str, Form(max_length=8)] = "") -> Response:
    """End this session server-side (a copy of its cookie stops working too); with ``everywhere``, every
    session of the same sign-in (token or Slack user), on every browser."""
    settings = app_state(request).settings
    session = web_session(request)
    if everywhere and session.subject:
        ended = session_store.revoke(settings, subject=session.subject)
        log.info("web.signed_out_everywhere subject=%s sessions=%s", session.subject, ended)
    elif session.sid:
        session_store.revoke(settings, session_id=session.sid)
    set_session(request, new_session())
    response = RedirectResponse("/signin", status_code=303)
    write_session(request, response)
    return response
