"""The overview (``/``): the migration's verdict and criteria, progress, cohort charts, the event study,
and each claim linked to the services behind it. It reads the digest's content for a complete week."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from service.api.deps import DbSession
from service.api.state import app_state
from service.digest.build import last_full_week
from service.timeutil import utcnow
from service.web import cache, charts
from service.web.auth import Viewing
from service.web.reads import digest_content, followed_migration, service_facts, upcoming_moves
from service.web.render import page

router = APIRouter(include_in_schema=False)
WeekQuery = Annotated[str | None, Query(pattern=r"^\d{4}-[Ww]\d{2}$")]


def recent_weeks(tz: str, count: int = 12) -> list[str]:
    """The last ``count`` complete weeks, newest first (the current week is never one)."""
    now = utcnow()
    return [last_full_week(now - timedelta(weeks=i), tz) for i in range(count)]


def cohort_charts(content: dict[str, Any]) -> list[Any]:
    data = content.get("charts") or {}
    weeks = data.get("weeks") or []
    out = []
    for key, title, unit in (
        ("deploys", "Deploys per week", "deploy"),
        ("incidents", "Incidents per week", "incident"),
    ):
        series = data.get(key)
        if not series:
            continue
        out.append(
            charts.stacked_bars(
                f"{title}, migrated vs not yet migrated",
                weeks,
                [
                    charts.Series("not yet migrated", series.get("not_migrated", []), "s-legacy"),
                    charts.Series("migrated", series.get("migrated", []), "s-migrated"),
                ],
                unit=unit,
                chart_id=f"cohort-{key}",
            )
        )
    return out


def event_study_charts(migration: dict[str, Any]) -> list[Any]:
    """The event study, when the digest carries one: per metric, a point per week relative to the move.
    Tolerant of its shape (a list of metrics with ``points``, or a mapping metric → points)."""
    study = migration.get("event_study")
    if not study:
        return []
    items = study.items() if isinstance(study, dict) else [(s.get("metric") or s.get("label"), s) for s in study]
    out = []
    for index, (name, entry) in enumerate(items):
        points = entry.get("points", entry) if isinstance(entry, dict) else entry
        if not isinstance(points, list) or not points:
            continue
        label = entry.get("label", name) if isinstance(entry, dict) else name
        unit = entry.get("unit", "") if isinstance(entry, dict) else ""

        def pick(point: dict[str, Any], *keys: str) -> Any:
            return next((point[k] for k in keys if point.get(k) is not None), None)

        weeks = [f"{int(pick(p, 'relative_week', 'k', 'week', 'period') or 0):+d}" for p in points]
        out.append(
            charts.points_with_intervals(
                f"Event study: {label} by week relative to the move",
                weeks,
                [pick(p, "estimate", "effect", "value") for p in points],
                [pick(p, "low", "lower") for p in points],
                [pick(p, "high", "upper") for p in points],
                unit=str(unit),
                chart_id=f"event-study-{index}",
            )
        )
    return out


@router.get("/")
def overview(request: Request, viewer: Viewing, session: DbSession, week: WeekQuery = None) -> Response:
    settings = app_state(request).settings
    weeks = recent_weeks(settings.timezone)
    chosen = (week or weeks[0]).upper()
    migration_row = followed_migration(session)
    facts = service_facts(session)
    content = digest_content(session, settings, week=chosen, audience="leaders", memo=cache.of(request))
    migration = content.get("migration") or {}
    week_end = datetime.fromisoformat(content["to"]) if content.get("to") else utcnow()
    moved = [f for f in facts if f.moved_at is not None and f.moved_at < week_end]
    return page(
        request,
        "overview.html",
        title="Overview",
        viewer=viewer,
        week=chosen,
        weeks=weeks if chosen in weeks else [chosen, *weeks],
        content=content,
        migration=migration,
        migration_row=migration_row,
        services=facts,
        moved=moved,
        not_moved=[f for f in facts if f not in moved],
        upcoming=upcoming_moves(session),
        cohort_charts=cohort_charts(content),
        event_study=event_study_charts(migration),
    )
