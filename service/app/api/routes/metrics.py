"""Metrics over HTTP: the DORA keys for a window, weekly figures by group (JSON or CSV), friction."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from service.app.api.auth import require_scope
from service.app.api.deps import DbSession
from service.app.api.formats import JsonOnly
from service.app.api.state import SettingsDep, TaxonomyDep
from service.core.errors import InvalidInput
from service.core.settings import Settings
from service.core.tabular import frame_csv
from service.core.timeutil import utcnow
from service.figures.cost.compute import measurement_weekly
from service.figures.cost.frames import measurement_frame
from service.figures.filters import Filters
from service.figures.metrics import friction as friction_metrics
from service.figures.metrics.dora import Window
from service.figures.metrics.results import DoraResult, LeadTimeStages, dora_result
from service.figures.metrics.service import dora_metrics, environments, friction_frame, known_filters, stage_frames
from service.figures.metrics.stages import STAGES, weekly_stages
from service.figures.weekly import warnings_cell, warnings_window, weekly_metrics, weekly_warnings
from service.figures.work.service import load_summary

router = APIRouter(prefix="/api/v1/metrics", tags=["metrics"], dependencies=[Depends(require_scope("read"))])

DateOrTime = date | datetime


def _moment(value: DateOrTime, tz: ZoneInfo) -> datetime:
    """A date is midnight in the configured zone; a naive datetime is in that zone too."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    return datetime.combine(value, time(0), tzinfo=tz)


EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def _window(settings: Settings, start: DateOrTime | None, end: DateOrTime | None, default_days: int) -> Window:
    tz = ZoneInfo(settings.timezone)
    for name, value in (("from", start), ("to", end)):
        if value is not None and not EARLIEST <= _moment(value, tz) < LATEST:
            raise InvalidInput(f"{name} must be between 2000 and 2100", field=name)
    stop = _moment(end, tz) if end is not None else utcnow()
    begin = _moment(start, tz) if start is not None else stop - timedelta(days=default_days)
    if begin >= stop:
        raise InvalidInput("from must be before to", field="from")
    return Window(start=begin, end=stop)


class Scope:
    """The filters every metrics route takes (they combine)."""

    def __init__(
        self,
        start: Annotated[DateOrTime | None, Query(alias="from", description="Inclusive; a date or a datetime")] = None,
        end: Annotated[DateOrTime | None, Query(alias="to", description="Exclusive; a date or a datetime")] = None,
        service: Annotated[str | None, Query(max_length=128)] = None,
        team: Annotated[str | None, Query(max_length=128)] = None,
        platform: Annotated[str | None, Query(max_length=64)] = None,
        environment: Annotated[str | None, Query(max_length=64, description="Counted as production")] = None,
    ) -> None:
        self.start, self.end = start, end
        self.filters = Filters(service=service, team=team, platform=platform, environment=environment)


@router.get("/dora", dependencies=[JsonOnly])
def dora(settings: SettingsDep, session: DbSession, scope: Annotated[Scope, Depends()]) -> DoraResult:
    """The DORA keys (and rework rate, incidents, warnings) over ``from``–``to`` (default: last 28 days)."""
    window = _window(settings, scope.start, scope.end, 28)
    return dora_result(dora_metrics(session, settings, known_filters(session, scope.filters), window))


@router.get("/weekly", response_model=None)
def weekly(
    settings: SettingsDep,
    session: DbSession,
    scope: Annotated[Scope, Depends()],
    group_by: Literal["service", "team", "platform", "cohort"] = "platform",
    format: Literal["json", "csv"] = "json",  # the query parameter's name
) -> dict[str, Any] | Response:
    """One row per ISO week (in the configured time zone) and group; ``?format=csv`` for spreadsheets."""
    window = _window(settings, scope.start, scope.end, 7 * 26)
    filters = known_filters(session, scope.filters)
    table = weekly_metrics(session, settings, group_by=group_by, filters=filters, start=window.start, end=window.end)
    since, until = warnings_window(window.start, window.end)
    warnings = weekly_warnings(session, settings, filters=filters, start=since, end=until)
    if format == "csv":
        headers = {"Content-Disposition": 'attachment; filename="frictionlog-weekly.csv"'}
        csv_text = frame_csv(table.assign(warnings=warnings_cell(warnings)))
        return Response(csv_text, media_type="text/csv; charset=utf-8", headers=headers)
    # pandas writes the rows in C (NaN → null); a year of weekly rows by service is ~10 k rows × 16 fields,
    # which FastAPI's generic encoder would walk value by value.
    rows = table.to_json(orient="records", date_format="iso", double_precision=6)
    head = json.dumps(
        {
            "group_by": group_by,
            "timezone": settings.timezone,
            "warnings": warnings,
            "warnings_from": since.isoformat(),
            "warnings_to": until.isoformat(),
        },
        default=str,
    )
    return Response(f'{head[:-1]}, "rows": {rows}}}', media_type="application/json")


@router.get("/lead-time-stages", dependencies=[JsonOnly])
def lead_time_stages(
    settings: SettingsDep,
    session: DbSession,
    scope: Annotated[Scope, Depends()],
    group_by: Literal["service", "team", "platform", "cohort"] = "platform",
) -> LeadTimeStages:
    """Lead time by stage — coding (first commit → request opened), review (opened → merged) and deploy
    (merged → production) — per ISO week and group, for the pull requests production deployments shipped
    (default: the last 26 weeks); see docs/metrics.md "Lead time by stage"."""
    window = _window(settings, scope.start, scope.end, 7 * 26)
    filters = known_filters(session, scope.filters)
    deployments, pairs = stage_frames(session, filters, window.start, window.end)
    envs = environments(settings, filters)
    table = weekly_stages(deployments, pairs, tz=settings.timezone, environments=envs, group_by=group_by)
    return LeadTimeStages.model_validate(
        {
            "group_by": group_by,
            "timezone": settings.timezone,
            "stages": {stage: {"from": start, "to": end} for stage, (start, end) in STAGES.items()},
            "rows": json.loads(table.to_json(orient="records", double_precision=6)),
        }
    )


@router.get("/measurements", response_model=None)
def measurements(
    settings: SettingsDep,
    session: DbSession,
    scope: Annotated[Scope, Depends()],
    metric: Annotated[str | None, Query(max_length=128, description="One metric; default: all")] = None,
    group_by: Literal["service", "team", "platform", "cohort"] = "service",
    format: Literal["json", "csv"] = "json",  # the query parameter's name
) -> dict[str, Any] | Response:
    """Any measurement (known or not) by ISO week and group: weighted mean, sum, min, max, count."""
    window = _window(settings, scope.start, scope.end, 7 * 26)
    frame = measurement_frame(
        session, known_filters(session, scope.filters), window.start, window.end, metrics=[metric] if metric else None
    )
    table = measurement_weekly(frame, tz=settings.timezone, group_by=group_by)
    if format == "csv":
        headers = {"Content-Disposition": 'attachment; filename="frictionlog-measurements.csv"'}
        return Response(frame_csv(table), media_type="text/csv; charset=utf-8", headers=headers)
    rows = table.to_json(orient="records", date_format="iso", double_precision=6)
    head = json.dumps({"group_by": group_by, "timezone": settings.timezone})
    return Response(f'{head[:-1]}, "rows": {rows}}}', media_type="application/json")


@router.get("/friction", dependencies=[JsonOnly])
def friction(
    settings: SettingsDep, taxonomy: TaxonomyDep, session: DbSession, scope: Annotated[Scope, Depends()]
) -> dict[str, Any]:
    """Friction reports: how many, minutes lost, by category (titled by the configured taxonomy), open vs
    resolved, median time to resolve."""
    window = _window(settings, scope.start, scope.end, 28)
    frame = friction_frame(session, known_filters(session, scope.filters), window.start, window.end)
    return friction_metrics.summary(frame, window.start, window.end, taxonomy=taxonomy)


@router.get("/work", dependencies=[JsonOnly])
def work(settings: SettingsDep, session: DbSession, scope: Annotated[Scope, Depends()]) -> dict[str, Any]:
    """Time to ship, done-but-not-shipped items with their age, support load and incidents by category
    (default: last 28 days); see docs/metrics.md "Work items"."""
    window = _window(settings, scope.start, scope.end, 28)
    filters = known_filters(session, scope.filters)
    return load_summary(
        session,
        environments=environments(settings, filters),
        start=window.start,
        end=window.end,
        now=utcnow(),
        min_sample=settings.min_sample,
        service=filters.service,
        team=filters.team,
    )
