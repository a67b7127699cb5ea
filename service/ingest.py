"""Apply canonical records to the derived tables: idempotent upserts keyed by natural keys.

Called by workers inside the transaction that claimed the inbox rows, so the derived rows and the
row's ``processed`` status commit together. Applying the same record twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from service.catalogue import ensure_services, platform_at, platform_history
from service.db import upsert_insert
from service.models import Change, Deployment, DeploymentChange, Incident
from service.records import ChangeRecord, CommitRef, DeploymentRecord, IncidentRecord, Record

# A terminal status replaces an earlier one; "in_progress" never overwrites an outcome.
_DEPLOYMENT_RANK = {"in_progress": 0, "cancelled": 1, "failure": 1, "error": 1, "success": 1}
_INCIDENT_RANK = {"triggered": 0, "acknowledged": 1, "resolved": 2}


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    """How incidents are tied to the deployment that caused them."""

    production_environments: frozenset[str]
    window: timedelta | None = timedelta(hours=24)
    """Fallback: the last production deployment of the service this long before the incident; None = off."""


def apply_records(session: Session, records: Sequence[Record], *, policy: LinkPolicy) -> None:
    ensure_services(session, {r.service for r in records if r.service})
    for record in records:
        if isinstance(record, ChangeRecord):
            _upsert_change(session, record)
        elif isinstance(record, DeploymentRecord):
            _upsert_deployment(session, record)
        else:
            _upsert_incident(session, record, policy)


def _locked_one(session: Session, model: Any, **key: Any) -> Any:
    return session.exec(select(model).filter_by(**key).with_for_update()).one()


def _upsert_change(session: Session, record: ChangeRecord | CommitRef, **defaults: Any) -> Change:
    values = (
        {
            "sha": record.sha,
            "repository": record.repository,
            "service": record.service,
            "committed_at": record.committed_at,
            "pr_number": record.pr_number,
            "merged_at": record.merged_at,
        }
        if isinstance(record, ChangeRecord)
        else {"sha": record.sha, "committed_at": record.committed_at, **defaults}
    )
    session.exec(
        upsert_insert(session, Change).values(**values).on_conflict_do_nothing(index_elements=["repository", "sha"])
    )
    change: Change = _locked_one(session, Change, repository=values["repository"], sha=values["sha"])
    for name in ("service", "pr_number", "merged_at"):
        if values.get(name) is not None and getattr(change, name) is None:
            setattr(change, name, values[name])
    return change


def _upsert_deployment(session: Session, record: DeploymentRecord) -> None:
    key = {"source": record.source, "external_id": record.external_id}
    session.exec(
        upsert_insert(session, Deployment)
        .values(**key, service=record.service, environment=record.environment, status=record.status)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
    )
    row: Deployment = _locked_one(session, Deployment, **key)
    if _DEPLOYMENT_RANK.get(record.status, 1) >= _DEPLOYMENT_RANK.get(row.status, 0):
        row.status = record.status
    row.service = record.service
    row.environment = record.environment
    for name in ("started_at", "finished_at", "sha", "repository", "version", "rollback_of", "url"):
        value = getattr(record, name)
        if value is not None:
            setattr(row, name, value)
    row.is_rollback = row.rollback_of is not None
    row.platform = record.platform or platform_at(platform_history(session, row.service), row.finished_at)
    session.flush()
    assert row.id is not None
    repository = record.repository or f"service:{record.service}"
    for commit in record.commits:
        change = _upsert_change(session, commit, repository=repository, service=record.service)
        session.flush()
        session.exec(
            upsert_insert(session, DeploymentChange)
            .values(deployment_id=row.id, change_id=change.id)
            .on_conflict_do_nothing()
        )
    # An incident that named this deployment before it arrived gets its link now.
    session.exec(
        update(Incident)
        .where(
            col(Incident.source) == record.source,
            col(Incident.caused_by_deployment) == record.external_id,
            col(Incident.caused_by_deployment_id).is_(None),
        )
        .values(caused_by_deployment_id=row.id, link_method="explicit")
    )


def _upsert_incident(session: Session, record: IncidentRecord, policy: LinkPolicy) -> None:
    key = {"source": record.source, "external_id": record.external_id}
    session.exec(
        upsert_insert(session, Incident)
        .values(**key, service=record.service, status=record.status, started_at=record.started_at)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
    )
    row: Incident = _locked_one(session, Incident, **key)
    if _INCIDENT_RANK.get(record.status, 0) >= _INCIDENT_RANK.get(row.status, 0):
        row.status = record.status
    row.started_at = min(row.started_at, record.started_at)
    for name in (
        "acknowledged_at",
        "resolved_at",
        "severity",
        "title",
        "caused_by_deployment",
        "commit_sha",
        "url",
    ):
        value = getattr(record, name)
        if value is not None:
            setattr(row, name, value)
    row.platform = platform_at(platform_history(session, row.service), row.started_at)
    if row.link_method != "explicit":
        _link_cause(session, row, policy)


def _link_cause(session: Session, incident: Incident, policy: LinkPolicy) -> None:
    """Explicit id, else the deployment of the named commit, else (if allowed) the latest one in the window."""
    production = col(Deployment.environment).in_(policy.production_environments)
    found: tuple[int | None, str] | None = None
    if incident.caused_by_deployment:
        match = session.exec(
            select(Deployment.id).where(
                Deployment.source == incident.source, Deployment.external_id == incident.caused_by_deployment
            )
        ).first()
        found = (match, "explicit") if match is not None else None
        if found is None:
            incident.caused_by_deployment_id, incident.link_method = None, None
            return  # the named deployment may still arrive; it links itself then
    if found is None and incident.commit_sha:
        match = session.exec(
            select(Deployment.id)
            .where(Deployment.service == incident.service, Deployment.sha == incident.commit_sha, production)
            .order_by(col(Deployment.finished_at))
        ).first()
        found = (match, "sha") if match is not None else None
    if found is None and policy.window is not None:
        found = _latest_before(session, incident.service, incident.started_at, policy.window, production)
    if found is not None:
        incident.caused_by_deployment_id, incident.link_method = found


def _latest_before(
    session: Session, service: str, moment: datetime, window: timedelta, production: Any
) -> tuple[int | None, str] | None:
    match = session.exec(
        select(Deployment.id)
        .where(
            Deployment.service == service,
            production,
            Deployment.status == "success",
            col(Deployment.finished_at) <= moment,
            col(Deployment.finished_at) >= moment - window,
        )
        .order_by(col(Deployment.finished_at).desc())
    ).first()
    return (match, "window") if match is not None else None
