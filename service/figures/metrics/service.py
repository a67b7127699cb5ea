"""Reads for the metrics: SQL → DataFrames in the shapes ``compute`` and ``dora`` expect.

Filters are applied in SQL; every frame gets the grouping columns (service, team, platform, cohort).
The cohort of an event is ``migrated`` when it ran on a platform some migration moves services to.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pandas as pd
import sqlmodel
from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from service.core.models import Change, Deployment, DeploymentChange, FrictionReport, Incident, PullRequest, Service
from service.core.settings import Settings
from service.figures import catalogue
from service.figures.cohort import with_cohort
from service.figures.filters import Filters, migrated_platforms
from service.figures.metrics import compute, dora
from service.figures.metrics.compute import Frames

_TIME_COLUMNS = ("finished_at", "committed_at", "started_at", "resolved_at", "created_at", "opened_at", "merged_at")
LOOKBACK = timedelta(days=7)
"""Rows this long before the window are read too: a failure shortly before it makes a fix-forward inside it."""


Statement = TypeVar("Statement", bound=Select[*tuple[Any, ...]])


def _between(statement: Statement, column: Any, start: datetime | None, end: datetime | None) -> Statement:
    """Rows whose ``column`` falls in [start, end); an open side where it is None."""
    if start is not None:
        statement = statement.where(column >= start)
    if end is not None:
        statement = statement.where(column < end)
    return statement


def _frame(session: Session, statement: Any, columns: list[str]) -> pd.DataFrame:
    rows = session.exec(statement).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=columns)
    for name in _TIME_COLUMNS:
        if name in frame:
            frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def _scoped(statement: Any, model: Any, filters: Filters, *, has_platform: bool = True) -> Any:
    if filters.service:
        statement = statement.where(model.service == filters.service)
    if filters.team:
        statement = statement.where(col(Service.team) == filters.team)
    if filters.platform and has_platform:
        statement = statement.where(model.platform == filters.platform)
    return statement


def _with_groups(frame: pd.DataFrame, migrated_platforms: set[str]) -> pd.DataFrame:
    return with_cohort(frame, migrated_platforms)


def deployments_frame(
    session: Session,
    filters: Filters,
    start: datetime | None,
    end: datetime | None,
    *,
    rolling_back: tuple[datetime | None, datetime] | None = None,
) -> pd.DataFrame:
    """Deployments finished in [start − LOOKBACK, end); with ``rolling_back``, only those that roll back a
    deployment finished in that span (a rollback after a window still fails the window's deployment)."""
    target = aliased(Deployment)
    # The deployment a rollback rolls back, looked up per row by the unique (source, external_id): an outer
    # join made PostgreSQL hash the whole deployment table for a week's read.
    rolled_back = (
        select(col(target.id))
        .where(col(target.source) == col(Deployment.source), col(target.external_id) == col(Deployment.rollback_of))
        .correlate(Deployment)
        .scalar_subquery()
    )
    statement = select(
        col(Deployment.id),
        col(Deployment.service),
        col(Service.team),
        col(Deployment.environment),
        col(Deployment.status),
        col(Deployment.finished_at),
        col(Deployment.platform),
        col(Deployment.is_rollback),
        rolled_back,
    ).join(Service, col(Service.slug) == col(Deployment.service))
    if filters.environment:
        statement = statement.where(col(Deployment.environment) == filters.environment)
    statement = _between(statement, col(Deployment.finished_at), None if start is None else start - LOOKBACK, end)
    if rolling_back is not None:
        low, high = rolling_back
        rolled = [col(target.source) == col(Deployment.source), col(target.external_id) == col(Deployment.rollback_of)]
        rolled.append(col(target.finished_at) < high)
        if low is not None:
            rolled.append(col(target.finished_at) >= low)
        statement = statement.where(exists().where(*rolled))
    columns = [
        "id",
        "service",
        "team",
        "environment",
        "status",
        "finished_at",
        "platform",
        "is_rollback",
        "rollback_of_id",
    ]
    return _frame(session, _scoped(statement, Deployment, filters), columns)


PAIR_COLUMNS = ["deployment_id", "committed_at", "finished_at", "excluded"]
"""A commit → deployment pair as ``lead_times_frame`` reads it (``stage_frames`` reads more of each)."""


def _pairs(*more: Any) -> Any:
    """The commit → deployment pairs (``PAIR_COLUMNS``, then ``more``), each with its deployment's service."""
    return (
        select(
            col(DeploymentChange.deployment_id),
            col(Change.committed_at),
            col(Deployment.finished_at),
            col(DeploymentChange.excluded),
            *more,
        )
        .join(Change, col(Change.id) == col(DeploymentChange.change_id))
        .join(Deployment, col(Deployment.id) == col(DeploymentChange.deployment_id))
        .join(Service, col(Service.slug) == col(Deployment.service))
    )


def lead_times_frame(session: Session, filters: Filters, start: datetime | None, end: datetime | None) -> pd.DataFrame:
    statement = _between(_pairs(), col(Deployment.finished_at), start, end)
    return _frame(session, _scoped(statement, Deployment, filters), PAIR_COLUMNS)


def stage_frames(
    session: Session, filters: Filters, start: datetime | None, end: datetime | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The deployments of a window (with their groups) and the commit → deployment pairs that shipped in them,
    each with its pull request's opened and merged times: what ``stages.weekly_stages`` reads."""
    request = sqlmodel.and_(
        col(PullRequest.repository) == col(Change.repository), col(PullRequest.number) == col(Change.pr_number)
    )
    statement = _pairs(
        col(Change.repository),
        col(Change.pr_number),
        col(PullRequest.opened_at),
        func.coalesce(col(PullRequest.merged_at), col(Change.merged_at)),
    ).outerjoin(PullRequest, request)
    statement = _between(statement, col(Deployment.finished_at), start, end)
    columns = [*PAIR_COLUMNS, "repository", "pr_number", "opened_at", "merged_at"]
    pairs = _frame(session, _scoped(statement, Deployment, filters), columns)
    deployments = _with_groups(deployments_frame(session, filters, start, end), migrated_platforms(session))
    return deployments, pairs


def shipped_frame(session: Session, filters: Filters, start: datetime | None, end: datetime | None) -> pd.DataFrame:
    """``deployment_id`` of each deployment in the window that shipped at least one commit: what
    ``compute.data_quality`` reads of the lead times, without loading every commit."""
    shipped = select(col(DeploymentChange.deployment_id)).where(
        col(DeploymentChange.deployment_id) == col(Deployment.id)
    )
    statement = (  # a semi-join: each deployment once, without reading every commit link of the window
        select(col(Deployment.id)).join(Service, col(Service.slug) == col(Deployment.service)).where(shipped.exists())
    )
    statement = _between(statement, col(Deployment.finished_at), start, end)
    return _frame(session, _scoped(statement, Deployment, filters), ["deployment_id"])


def incidents_frame(
    session: Session,
    filters: Filters,
    start: datetime | None,
    end: datetime | None,
    *,
    caused_in: tuple[datetime | None, datetime] | None = None,
) -> pd.DataFrame:
    """Incidents started in [start, end); with ``caused_in``, only those linked to a deployment finished in
    that span (an incident after a window still fails the window's deployment)."""
    statement = select(
        col(Incident.id),
        col(Incident.service),
        col(Service.team),
        col(Incident.severity),
        col(Incident.started_at),
        col(Incident.resolved_at),
        col(Incident.platform),
        col(Incident.caused_by_deployment_id),
        col(Incident.category),
    ).join(Service, col(Service.slug) == col(Incident.service))
    statement = _between(statement, col(Incident.started_at), start, end)
    if caused_in is not None:
        low, high = caused_in
        cause = _between(select(col(Deployment.id)), col(Deployment.finished_at), low, high)
        statement = statement.where(col(Incident.caused_by_deployment_id).in_(cause))
    columns = [
        "id", "service", "team", "severity", "started_at", "resolved_at", "platform", "caused_by_deployment_id",
        "category",
    ]  # fmt: skip
    return _frame(session, _scoped(statement, Incident, filters), columns)


def friction_frame(session: Session, filters: Filters, start: datetime | None, end: datetime | None) -> pd.DataFrame:
    statement = (
        select(
            col(FrictionReport.id),
            col(FrictionReport.service),
            col(Service.team),
            col(FrictionReport.created_at),
            col(FrictionReport.resolved_at),
            col(FrictionReport.platform),
            col(FrictionReport.category),
            col(FrictionReport.minutes_lost),
            col(FrictionReport.status),
            col(FrictionReport.text),
            # a person who reported, for "how many reporters": a Slack user or an API contact
            func.coalesce(col(FrictionReport.reporter), col(FrictionReport.contact)),
            col(FrictionReport.resolution_note),
        )
        .outerjoin(Service, col(Service.slug) == col(FrictionReport.service))
        .where(col(FrictionReport.duplicate_of).is_(None))
    )
    statement = _between(statement, col(FrictionReport.created_at), start, end)
    columns = [
        "id",
        "service",
        "team",
        "created_at",
        "resolved_at",
        "platform",
        "category",
        "minutes_lost",
        "status",
        "text",
        "reporter",
        "resolution_note",
    ]
    return _frame(session, _scoped(statement, FrictionReport, filters), columns)


def load(session: Session, filters: Filters, start: datetime | None = None, end: datetime | None = None) -> Frames:
    """The frames of a window; each deployment carries ``failed_later`` (:func:`failed_after`)."""
    platforms = migrated_platforms(session)
    deployments = deployments_frame(session, filters, start, end)
    later = failed_after(session, filters, start, end) if end is not None else set()
    deployments = deployments.assign(failed_later=deployments["id"].isin(later))
    return Frames(
        deployments=_with_groups(deployments, platforms),
        lead_times=lead_times_frame(session, filters, start, end),
        incidents=_with_groups(incidents_frame(session, filters, start, end), platforms),
        friction=_with_groups(friction_frame(session, filters, start, end), platforms),
    )


def environments(settings: Settings, filters: Filters) -> frozenset[str]:
    return frozenset({filters.environment}) if filters.environment else frozenset(settings.production_environments)


def known_filters(session: Session, filters: Filters) -> Filters:
    """The filters with the service in its catalogue spelling; NotFound naming an unknown service or team
    (a filter that matches nothing would otherwise answer zeros that read like a quiet week)."""
    service = catalogue.known_service(session, filters.service) if filters.service else None
    team = catalogue.known_team(session, filters.team) if filters.team else None
    return replace(filters, service=service, team=team)


def _platform_weeks(session: Session, filters: Filters, window: dora.Window) -> float | None:
    """Under a platform filter, the weeks the selected services ran on it (None: no platform filter)."""
    if not filters.platform:
        return None
    services: list[str] | None = None
    if filters.service:
        services = [filters.service]
    elif filters.team:
        services = list(session.exec(sqlmodel.select(Service.slug).where(Service.team == filters.team)).all())
    weeks = catalogue.platform_weeks(
        session, platform=filters.platform, services=services, start=window.start, end=window.end
    )
    return max(weeks, 1 / 7)


def failed_after(session: Session, filters: Filters, start: datetime | None, end: datetime) -> set[int]:
    """Ids of the deployments finished in [start, end) that something after ``end`` failed: an incident linked
    to them that started later, or a rollback of them that finished later. A window's read sees them, so a
    failure is the same wherever the window ends (/metrics/dora, the weekly rollups, the digest)."""
    low = start - LOOKBACK if start is not None else None
    later_incidents = incidents_frame(session, filters, end, None, caused_in=(low, end))
    later_rollbacks = deployments_frame(session, filters, end + LOOKBACK, None, rolling_back=(low, end))
    failed = set(later_incidents["caused_by_deployment_id"].dropna().astype(int))
    return failed | set(later_rollbacks["rollback_of_id"].dropna().astype(int))


def dora_metrics(session: Session, settings: Settings, filters: Filters, window: dora.Window) -> dict[str, Any]:
    frames = load(session, filters, window.start, window.end)
    envs = environments(settings, filters)
    result = dora.dora(
        frames.deployments,
        frames.lead_times,
        frames.incidents,
        window=window,
        environments=envs,
        tz=settings.timezone,
        min_sample=settings.min_sample,
        follow_up=timedelta(hours=settings.incident_link_window_hours or 24),
        weeks=_platform_weeks(session, filters, window),
    )
    in_window = frames.deployments[window.mask(frames.deployments["finished_at"])]
    result["warnings"] = compute.data_quality(in_window, frames.lead_times, frames.incidents, environments=envs)
    return result
