"""The cost page (``/cost``), an allocation view like Kubecost's or OpenCost's: weekly cost by platform,
team and service, the unallocated share, idle GPU cost and cost per deployment, each move marked, and the
same rows as CSV (``/cost.csv``). The figures are ``service.figures.weekly.cost_allocation``'s (one read of
the cost rollups and one of the DORA rollups), remembered per data version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from service.app.api.deps import DbSession
from service.app.api.state import app_state
from service.app.web import cache
from service.app.web.auth import Viewing
from service.app.web.cost_view import CSV_COLUMNS, CostView, cost_view, csv_rows
from service.app.web.reads import service_facts
from service.app.web.render import page
from service.core.db import session_scope
from service.core.settings import Settings
from service.core.tabular import write_csv
from service.core.timeutil import utcnow
from service.core.weeks import recent_weeks, week_label, week_window
from service.figures.catalogue import followed_migration
from service.figures.weekly import cost_allocation

router = APIRouter(include_in_schema=False)
WEEKS = 12
Weeks = Annotated[int, Query(ge=4, le=52)]


def weeks_shown(settings: Settings, count: int) -> list[str]:
    """The last ``count`` complete weeks, oldest first."""
    return list(reversed(recent_weeks(utcnow(), settings.timezone, count)))


@dataclass(frozen=True, slots=True)
class CostFigures:
    view: CostView
    rows: list[dict[str, Any]]
    """The CSV's rows."""


def cost_figures(settings: Settings, memo: cache.PageMemo, session: Session, weeks: list[str]) -> CostFigures:
    """The page and its CSV for ``weeks``, computed in a session of their own and remembered per data
    version (the read and the tables' pandas work are the page's cost on a large install)."""
    tz = settings.timezone
    start, end = week_window(weeks[0], tz)[0], week_window(weeks[-1], tz)[1]

    def compute() -> CostFigures:
        with session_scope(settings.database_url) as own:
            tables = cost_allocation(own, settings, start=start, end=end)
            moves = _moves(own, tz)
        return CostFigures(
            view=cost_view(tables, weeks, moves), rows=csv_rows(tables, weeks, settings.reporting_currency)
        )

    key = ("cost", settings.database_url, weeks[0], weeks[-1])
    return memo.remember(key, cache.data_version(session), compute)


def _moves(session: Session, tz: str) -> dict[str, str]:
    """Service → the week it moved to the followed migration's target (the catalogue's one rule)."""
    moved = {f.slug: f.moved_at for f in service_facts(session) if f.moved_at is not None}
    if not moved:
        return {}
    labels = week_label(pd.Series(pd.to_datetime(list(moved.values()), utc=True)), tz)
    return dict(zip(moved, labels, strict=True))


@router.get("/cost")
def cost_page(request: Request, viewer: Viewing, session: DbSession, weeks: Weeks = WEEKS) -> Response:
    settings = app_state(request).settings
    shown = weeks_shown(settings, weeks)
    migration = followed_migration(session)
    return page(
        request,
        "cost.html",
        title="Cost",
        viewer=viewer,
        view=cost_figures(settings, cache.of(request), session, shown).view,
        currency=settings.reporting_currency,
        target=migration.to_platform if migration else None,
        count=weeks,
    )


@router.get("/cost.csv")
def cost_csv(request: Request, _viewer: Viewing, session: DbSession, weeks: Weeks = WEEKS) -> Response:
    settings = app_state(request).settings
    shown = weeks_shown(settings, weeks)
    rows = cost_figures(settings, cache.of(request), session, shown).rows
    return Response(
        write_csv(rows, CSV_COLUMNS),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="cost-{shown[0]}-{shown[-1]}.csv"'},
    )
