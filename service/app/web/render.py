"""Rendering pages: one Jinja2 environment (autoescaped: user text is escaped where it is shown), the
filters every template shares (plurals, numbers, dates), and the session cookie written with the page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from service.app.api.state import app_state
from service.app.web.auth import Viewer, current_viewer, web_session
from service.app.web.words import plural
from service.core import vocab
from service.core.timeutil import as_utc
from service.digest.colour import headline_css
from service.digest.content import HEADLINE
from service.digest.models import Warning
from service.digest.render import number, warning_line

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def when(moment: datetime | str | None, tz: str = "UTC", fmt: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None or moment == "":
        return "–"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return as_utc(moment).astimezone(ZoneInfo(tz)).strftime(fmt)


def percent(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "–"
    return f"{value:+.0%}" if signed else f"{value:.0%}"


def any_warning_line(warning: Warning | dict[str, Any]) -> str:
    """A data-quality warning in words: the digest's (``Warning``), or a DORA summary's (``dora_metrics``:
    the same fields in a dict, on the data and service pages)."""
    return warning_line(warning if isinstance(warning, Warning) else Warning.model_validate(warning))


templates.env.filters.update(plural=plural, when=when, percent=percent, number=number)
templates.env.globals.update(
    plural=plural,
    warning_line=any_warning_line,
    headline_tone=headline_css,
    metric=vocab.metric,
    is_better=vocab.is_better,
    cohort_words=vocab.COHORT_WORDS,
    cohort_metrics=HEADLINE,
)


PREPARING_REFRESH_SECONDS = 3


def preparing(request: Request, *, title: str, audience: str, viewer: Viewer | None = None) -> Response:
    """The page for a digest still being built in the background: it reloads itself (no JavaScript needed)."""
    return page(
        request,
        "preparing.html",
        title=title,
        viewer=viewer,
        heading=title,
        audience=audience,
        refresh_in=PREPARING_REFRESH_SECONDS,
        query=request.url.query,
    )


def page(
    request: Request, template: str, *, title: str, status_code: int = 200, viewer: Viewer | None = None, **context: Any
) -> Response:
    """A page in the app's frame; writes the session cookie when this request made or changed it."""
    session = web_session(request)
    if viewer is None:
        try:
            viewer = current_viewer(request)
        except Exception:  # an error page must render even when the credential check itself failed
            viewer = None
    response = templates.TemplateResponse(
        request,
        template,
        {
            "title": title,
            "viewer": viewer,
            "csrf": session.csrf,
            "path": request.url.path,
            "settings": app_state(request).settings,
            "tz": app_state(request).settings.timezone,
            **context,
        },
        status_code=status_code,
    )
    write_session(request, response)
    return response


def write_session(request: Request, response: Response) -> None:
    if getattr(request.state, "web_session_dirty", False):
        request.app.state.session_codec.write(request, response, web_session(request))
