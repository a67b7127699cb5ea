"""Reads for the metrics: SQL → DataFrames in the shapes ``compute`` expects."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from service.metrics import compute
from service.models import Change, Deployment, DeploymentChange, FrictionReport, Incident
from service.settings import Settings

_TIME_COLUMNS = ("finished_at", "committed_at", "started_at", "resolved_at", "created_at")


def _frame(session: Session, statement: object, columns: list[str]) -> pd.DataFrame:
    rows = session.exec(statement).all()  # type: ignore[call-overload]
    frame = pd.DataFrame([tuple(row) for row in rows], columns=columns)
    for name in _TIME_COLUMNS:
        if name in frame:
            frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def deployments_frame(session: Session) -> pd.DataFrame:
    target = aliased(Deployment)
    statement = select(
        col(Deployment.id),
        col(Deployment.service),
        col(Deployment.environment),
        col(Deployment.status),
        col(Deployment.finished_at),
        col(Deployment.platform),
        col(Deployment.is_rollback),
        col(target.id),
    ).outerjoin(
        target,
        (col(target.source) == col(Deployment.source)) & (col(target.external_id) == col(Deployment.rollback_of)),
    )
    columns = [
        "id",
        "service",
        "environment",
        "status",
        "finished_at",
        "platform",
        "is_rollback",
        "rollback_of_id",
    ]
    return _frame(session, statement, columns)


def lead_times_frame(session: Session) -> pd.DataFrame:
    statement = (
        select(
            col(DeploymentChange.deployment_id),
            col(Change.committed_at),
            col(Deployment.finished_at),
            col(DeploymentChange.excluded),
        )
        .join(Change, col(Change.id) == col(DeploymentChange.change_id))
        .join(Deployment, col(Deployment.id) == col(DeploymentChange.deployment_id))
    )
    return _frame(session, statement, ["deployment_id", "committed_at", "finished_at", "excluded"])


def incidents_frame(session: Session) -> pd.DataFrame:
    statement = select(
        col(Incident.id),
        col(Incident.service),
        col(Incident.started_at),
        col(Incident.resolved_at),
        col(Incident.platform),
        col(Incident.caused_by_deployment_id),
    )
    columns = ["id", "service", "started_at", "resolved_at", "platform", "caused_by_deployment_id"]
    return _frame(session, statement, columns)


def friction_frame(session: Session) -> pd.DataFrame:
    statement = select(
        col(FrictionReport.id),
        col(FrictionReport.service),
        col(FrictionReport.created_at),
        col(FrictionReport.platform),
        col(FrictionReport.category),
        col(FrictionReport.minutes_lost),
        col(FrictionReport.status),
    ).where(col(FrictionReport.duplicate_of).is_(None))
    columns = ["id", "service", "created_at", "platform", "category", "minutes_lost", "status"]
    return _frame(session, statement, columns)


def weekly_metrics(session: Session, settings: Settings, *, group_by: str = "platform") -> pd.DataFrame:
    return compute.weekly(
        deployments_frame(session),
        lead_times_frame(session),
        incidents_frame(session),
        friction_frame(session),
        tz=settings.timezone,
        environments=frozenset(settings.production_environments),
        group_by=group_by,
    )
