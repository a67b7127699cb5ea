"""Digests: every complete week per audience, each in the app's frame; and the self-contained HTML page
(inline CSS and SVG, as mailed) for tools and email. Both need a session or a read token in the
``Authorization`` header: the ``?token=`` links are retired (a URL is logged and shared; a header is not)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from service.app.api.deps import DbSession
from service.app.api.state import app_state
from service.app.web import cache, digest_view
from service.app.web.auth import Viewing
from service.app.web.reads import digest_content, digest_html, posted_weeks, service_facts
from service.app.web.render import PREPARING_REFRESH_SECONDS, page, preparing
from service.core.timeutil import utcnow
from service.core.weeks import recent_weeks
from service.digest import assumptions
from service.digest.build import audiences
from service.digest.scorecard import rescore

router = APIRouter(include_in_schema=False)
Week = Annotated[str, Path(pattern=r"^\d{4}-[Ww]\d{2}$", description="An ISO week, e.g. 2026-W47")]
Audience = Annotated[str, Query(max_length=140, description="leaders, or team:<name>")]


@router.get("/digests")
def digest_list(request: Request, viewer: Viewing, session: DbSession) -> Response:
    teams = sorted({f.team for f in service_facts(session) if f.team})
    return page(
        request,
        "digests.html",
        title="Digests",
        viewer=viewer,
        weeks=recent_weeks(utcnow(), app_state(request).settings.timezone),
        audiences=audiences(app_state(request).settings, teams),
        posted=posted_weeks(session),
    )


@router.get("/digests/{week}")
def digest_page(
    request: Request, week: Week, viewer: Viewing, session: DbSession, audience: Audience = "leaders"
) -> Response:
    content = digest_content(
        session, app_state(request).settings, week=week.upper(), audience=audience, memo=cache.of(request)
    )
    if content is None:
        return preparing(request, title=f"Digest {week.upper()}", audience=audience, viewer=viewer)
    settings = app_state(request).settings
    content = rescore(content, assumptions.current(session, settings), settings.reporting_currency)
    return page(
        request,
        "digest.html",
        title=f"Digest {week.upper()}",
        viewer=viewer,
        content=content,
        audience=audience,
        d=digest_view.parts(content),
    )


@router.get("/digests/{week}/html", response_class=HTMLResponse)
def digest_standalone(
    request: Request, week: Week, _viewer: Viewing, session: DbSession, audience: Audience = "leaders"
) -> HTMLResponse:
    """The digest as one self-contained page with charts, readable without JavaScript and as an email body:
    the page kept with the digest, not rendered again per request (``reads.digest_html``)."""
    html = digest_html(
        session, app_state(request).settings, week=week.upper(), audience=audience, memo=cache.of(request)
    )
    if html is None:  # being built in the background: ask again shortly
        retry = str(PREPARING_REFRESH_SECONDS)
        return HTMLResponse("The digest is being prepared.", status_code=503, headers={"Retry-After": retry})
    return HTMLResponse(html)
