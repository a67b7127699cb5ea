"""The overview (``/``): the migration's verdict and criteria, progress, cohort charts, the event study,
and each claim linked to the services behind it. It reads the digest's content for a complete week."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from service.app.api.deps import DbSession
from service.app.api.state import app_state
from service.app.web import cache, digest_view
from service.app.web.auth import Viewing
from service.app.web.reads import digest_content, service_facts, upcoming_moves
from service.app.web.render import page, preparing
from service.core.timeutil import utcnow
from service.core.weeks import recent_weeks
from service.digest import assumptions
from service.digest.scorecard import rescore
from service.figures.catalogue import followed_migration

router = APIRouter(include_in_schema=False)
WeekQuery = Annotated[str | None, Query(pattern=r"^\d{4}-[Ww]\d{2}$")]


@router.get("/")
def overview(request: Request, viewer: Viewing, session: DbSession, week: WeekQuery = None) -> Response:
    settings = app_state(request).settings
    weeks = recent_weeks(utcnow(), settings.timezone)
    chosen = (week or weeks[0]).upper()
    migration_row = followed_migration(session)
    facts = service_facts(session)
    content = digest_content(session, settings, week=chosen, audience="leaders", memo=cache.of(request))
    if content is None:
        return preparing(request, title="Overview", audience="leaders", viewer=viewer)
    content = rescore(content, assumptions.current(session, settings), settings.reporting_currency)
    week_end = datetime.fromisoformat(content.to) if content.to else utcnow()
    moved = [f for f in facts if f.moved_at is not None and f.moved_at < week_end]
    return page(
        request,
        "overview.html",
        title="Overview",
        viewer=viewer,
        week=chosen,
        weeks=weeks if chosen in weeks else [chosen, *weeks],
        content=content,
        migration=content.migration,
        migration_row=migration_row,
        services=facts,
        moved=moved,
        not_moved=[f for f in facts if f not in moved],
        upcoming=upcoming_moves(session),
        d=digest_view.parts(content),
    )
