"""The events behind a figure: deployments, incidents or friction reports over a range of weeks, for a
team or a service, as a table and as CSV (``?format=csv``, formula-looking cells quoted). Every filter is
in the URL, so a view can be shared; the scorecard's tiles link here (``service.digest.scorecard.EVENTS``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from service.app.api.deps import DbSession
from service.app.api.state import app_state
from service.app.web.auth import Viewing
from service.app.web.reads import service_facts
from service.app.web.render import page
from service.core.errors import InvalidInput
from service.core.tabular import frame_csv
from service.core.timeutil import utcnow
from service.core.weeks import last_full_week, week_window
from service.figures.filters import Filters
from service.figures.metrics import events

router = APIRouter(include_in_schema=False)
Kind = Literal["deployments", "incidents", "friction"]
WeekQuery = Annotated[str | None, Query(pattern=r"^\d{4}-[Ww]\d{2}$")]
Name = Annotated[str | None, Query(max_length=140)]
SHOWN = 200
"""Rows shown on the page; the CSV has them all."""
DEFAULT_WEEKS = 8


def window(first: str | None, last: str | None, tz: str) -> tuple[str, str, datetime, datetime]:
    """(from week, to week, start, end): by default the last ``DEFAULT_WEEKS`` complete weeks."""
    to_week = (last or last_full_week(utcnow(), tz)).upper()
    end = week_window(to_week, tz)[1]
    from_week = (first or last_full_week(end - pd.Timedelta(weeks=DEFAULT_WEEKS - 1), tz)).upper()
    start = week_window(from_week, tz)[0]
    if start >= end:
        raise InvalidInput(f"from ({from_week}) is after to ({to_week}): no weeks in that range", field="from")
    return from_week, to_week, start, end


@router.get("/events/{kind}")
def events_page(
    request: Request,
    kind: Kind,
    viewer: Viewing,
    session: DbSession,
    from_: Annotated[str | None, Query(alias="from", pattern=r"^\d{4}-[Ww]\d{2}$")] = None,
    to: WeekQuery = None,
    team: Name = None,
    service: Name = None,
    format: Literal["html", "csv"] = "html",
) -> Response:
    settings = app_state(request).settings
    spec = events.KINDS[kind]
    from_week, to_week, start, end = window(from_, to, settings.timezone)
    filters = Filters(team=team or None, service=service or None)
    frame, total = events.rows(session, spec, filters, start, end, limit=None if format == "csv" else SHOWN)
    if format == "csv":
        name = f"frictionlog-{kind}-{from_week}-{to_week}.csv"
        return Response(
            frame_csv(frame),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    facts = service_facts(session)
    return page(
        request,
        "events.html",
        title=spec.title,
        viewer=viewer,
        kind=kind,
        heading=spec.title,
        columns=spec.columns,
        rows=frame.to_dict(orient="records"),
        total=total,
        shown=SHOWN,
        from_week=from_week,
        to_week=to_week,
        team=team or "",
        service=service or "",
        teams=sorted({f.team for f in facts if f.team}),
        services=sorted(f.slug for f in facts),
        query=request.url.query,
    )
