"""The overview (``/``): the migration's verdict and criteria, progress, cohort charts, the event study,
and each claim linked to the services behind it. It reads the digest's content for a complete week."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
from service.app.web.filters import Text
from service.app.web.reads import digest_content, scoped_scorecard, service_facts, upcoming_moves
from service.app.web.render import page, preparing
from service.core.errors import InvalidInput, NotFound
from service.core.timeutil import utcnow
from service.core.weeks import recent_weeks, week_label
from service.digest import assumptions
from service.digest.models import DigestContent, ScorecardTile
from service.digest.scorecard import EVENTS, METRIC_EVENTS, rescore
from service.digest.scorecard_html import Links
from service.figures.catalogue import followed_migration, known_team

router = APIRouter(include_in_schema=False)
WeekQuery = Annotated[str | None, Query(pattern=r"^\d{4}-[Ww]\d{2}$")]


FromQuery = Annotated[str | None, Query(alias="from", pattern=r"^\d{4}-[Ww]\d{2}$")]


@dataclass(frozen=True, slots=True)
class Scope:
    """What the overview is narrowed to, all of it in the URL (``?from=&week=&team=&service=``) so a view can
    be shared; its drill-downs go to ``/events`` with the same filters."""

    first: str | None
    last: str
    team: str | None
    service: str | None

    def events(self, kind: str, first: str | None = None, last: str | None = None) -> str:
        query = {"from": first or self.first, "to": last or self.last, "team": self.team, "service": self.service}
        return f"/events/{kind}?" + urlencode({k: v for k, v in query.items() if v})


def drill_down(content: DigestContent, scope: Scope, *, tz: str) -> Links:
    """Each tile's link to the events behind it (``scorecard.EVENTS``): over the range shown, or by default
    from 8 weeks before the migration started to the digest's week, for the team and service shown."""
    started = content.migration.started_at if content.migration else None
    first = scope.first
    if first is None and started is not None:
        first = str(week_label(pd.Series([pd.Timestamp(started) - pd.Timedelta(weeks=8)]), tz).iloc[0])

    def links(tile: ScorecardTile) -> list[tuple[str, str]]:
        if tile.key not in EVENTS:
            return []
        kind, words = EVENTS[tile.key]
        return [(scope.events(kind, first=first), words)]

    return links


def claim_links(content: DigestContent, scope: Scope) -> dict[str, str]:
    """Each claim's link to the events behind its metric (``scorecard.METRIC_EVENTS``) over the range shown."""
    items = content.migration.before_after if content.migration else []
    return {i.metric: scope.events(METRIC_EVENTS[i.metric]) for i in items if i.metric in METRIC_EVENTS}


def bar_href(scope: Scope) -> Callable[[str, str], str]:
    """A chart bar's link: the events of its metric in its week, for the team and service shown."""
    return lambda metric, week: scope.events(METRIC_EVENTS[metric], first=week, last=week)


def checked_scope(
    session: DbSession, slugs: list[str], *, first: str | None, last: str, team: str | None, service: str | None
) -> Scope:
    """The filters asked for, each checked: InvalidInput naming ``from`` after the week, NotFound for a team
    or a service the catalogue does not know."""
    start = first.upper() if first else None
    if start is not None and start > last:
        raise InvalidInput(f"from ({start}) is after the week shown ({last})", field="from")
    if team:
        known_team(session, team)
    if service and service not in slugs:
        raise NotFound(f"no service {service!r} in the catalogue")
    return Scope(start, last, team or None, service or None)


def _rescoped(
    request: Request, session: DbSession, content: DigestContent, scope: Scope, services: list[tuple[str, str | None]]
) -> tuple[DigestContent, bool]:
    """The content with its scorecard re-estimated for the scope's service (or team's services) over its
    range, and whether it is; as it is when the overview is not narrowed or while the re-estimate is being
    computed."""
    if scope.first is None and not scope.team and not scope.service:
        return content, False
    chosen = (scope.service,) if scope.service else tuple(s for s, t in services if not scope.team or t == scope.team)
    settings = app_state(request).settings
    card = scoped_scorecard(
        session, settings, week=scope.last, content=content, chosen=chosen, first=scope.first, memo=cache.of(request)
    )
    return (content, False) if card is None else (content.model_copy(update={"scorecard": card}), True)


@router.get("/")
def overview(
    request: Request,
    viewer: Viewing,
    session: DbSession,
    week: WeekQuery = None,
    team: Text = None,
    from_: FromQuery = None,
    service: Text = None,
) -> Response:
    """The overview for a week (``?week=``), for everyone or one team (``?team=``: that team's digest), its
    charts over a range of weeks (``?from=`` to the week) and its claims' tables and drill-downs narrowed to
    a service (``?service=``)."""
    settings = app_state(request).settings
    weeks = recent_weeks(utcnow(), settings.timezone)
    chosen = (week or weeks[0]).upper()
    migration_row = followed_migration(session)
    facts = service_facts(session)
    scope = checked_scope(session, [f.slug for f in facts], first=from_, last=chosen, team=team, service=service)
    first = scope.first
    audience = f"team:{team}" if team else "leaders"
    content = digest_content(session, settings, week=chosen, audience=audience, memo=cache.of(request))
    if content is None:
        return preparing(request, title="Overview", audience=audience, viewer=viewer)
    content = rescore(content, assumptions.current(session, settings), settings.reporting_currency)
    content, rescoped = _rescoped(request, session, content, scope, [(f.slug, f.team) for f in facts])
    if first is not None:
        content = content.model_copy(update={"charts": content.charts.within(first, chosen)})
    week_end = datetime.fromisoformat(content.to) if content.to else utcnow()
    moved = [f for f in facts if f.moved_at is not None and f.moved_at < week_end]
    return page(
        request,
        "overview.html",
        title="Overview",
        viewer=viewer,
        week=chosen,
        weeks=weeks if chosen in weeks else [chosen, *weeks],
        first=first or "",
        content=content,
        migration=content.migration,
        migration_row=migration_row,
        services=facts,
        moved=moved,
        not_moved=[f for f in facts if f not in moved],
        upcoming=upcoming_moves(session),
        team=team or "",
        service=service or "",
        teams=sorted({f.team for f in facts if f.team}),
        scope=scope,
        rescoped=rescoped,
        d=digest_view.parts(
            content,
            drill_down(content, scope, tz=settings.timezone),
            claim_links=claim_links(content, scope),
            bar_href=bar_href(scope),
            service=service or "",
        ),
    )
