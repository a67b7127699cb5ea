"""The overview (``/``): the migration's verdict and criteria, progress, cohort charts, the event study,
and each claim linked to the services behind it. It reads the digest's content for a complete week."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from service.app.api.deps import DbSession
from service.app.api.state import app_state
from service.app.web import cache, digest_view
from service.app.web.auth import Viewing
from service.app.web.reads import digest_content, service_facts, upcoming_moves
from service.app.web.render import page, preparing
from service.core.timeutil import utcnow
from service.core.weeks import recent_weeks, week_label
from service.digest import assumptions
from service.digest.models import DigestContent, ScorecardTile
from service.digest.scorecard import EVENTS, rescore
from service.digest.scorecard_html import Links
from service.figures.catalogue import followed_migration, known_team

router = APIRouter(include_in_schema=False)
WeekQuery = Annotated[str | None, Query(pattern=r"^\d{4}-[Ww]\d{2}$")]


TeamQuery = Annotated[str | None, Query(max_length=128)]


def drill_down(content: DigestContent, *, team: str | None, tz: str) -> Links:
    """Each tile's link to the events behind it (``scorecard.EVENTS``): from 8 weeks before the migration
    started to the digest's week, for the team shown."""
    started = content.migration.started_at if content.migration else None
    first = None
    if started is not None:
        first = str(week_label(pd.Series([pd.Timestamp(started) - pd.Timedelta(weeks=8)]), tz).iloc[0])

    def links(tile: ScorecardTile) -> list[tuple[str, str]]:
        if tile.key not in EVENTS:
            return []
        kind, words = EVENTS[tile.key]
        query = {"from": first, "to": content.week, "team": team}
        return [(f"/events/{kind}?" + urlencode({k: v for k, v in query.items() if v}), words)]

    return links


@router.get("/")
def overview(
    request: Request, viewer: Viewing, session: DbSession, week: WeekQuery = None, team: TeamQuery = None
) -> Response:
    """The overview for a week (``?week=``) and for everyone or one team (``?team=``: that team's digest)."""
    settings = app_state(request).settings
    weeks = recent_weeks(utcnow(), settings.timezone)
    chosen = (week or weeks[0]).upper()
    migration_row = followed_migration(session)
    facts = service_facts(session)
    audience = f"team:{team}" if team else "leaders"
    if team:
        known_team(session, team)
    content = digest_content(session, settings, week=chosen, audience=audience, memo=cache.of(request))
    if content is None:
        return preparing(request, title="Overview", audience=audience, viewer=viewer)
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
        team=team or "",
        teams=sorted({f.team for f in facts if f.team}),
        d=digest_view.parts(content, drill_down(content, team=team, tz=settings.timezone)),
    )
