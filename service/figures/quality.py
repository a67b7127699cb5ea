"""Data quality, as lists a person can act on: what the figures are missing, over a recent window.

The counts travel with the figures too (``service.figures.metrics.compute.data_quality``); these read the rows
behind them, newest first, so the web app's data page can name each one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, literal, or_, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from service.core.models import Deployment, DeploymentChange, FrictionReport, InboxEvent, Incident, Service
from service.core.vocab import CHANGE_CAUSED, InboxStatus


@dataclass(frozen=True, slots=True)
class Listing:
    """The newest ``rows`` (at most the limit asked for) and how many there are in all."""

    rows: list[Any]
    total: int


@dataclass(frozen=True, slots=True)
class Linking:
    """How many incidents since the window's start a change may have caused, and how many of them are
    linked to a deployment: what the data page can truthfully say about links (with ``last_processed``)."""

    linkable: int
    linked: int


def _linkable() -> Any:
    return or_(col(Incident.category).is_(None), col(Incident.category).in_(CHANGE_CAUSED))


def linking(session: Session, *, since: datetime) -> Linking:
    recent = (col(Incident.started_at) >= since, _linkable())
    linkable = session.exec(select(func.count()).select_from(Incident).where(*recent)).one()
    linked = session.exec(
        select(func.count()).select_from(Incident).where(*recent, col(Incident.caused_by_deployment_id).is_not(None))
    ).one()
    return Linking(int(linkable), int(linked))


def last_processed(session: Session) -> datetime | None:
    """When the newest processed event was processed: incidents are linked to deployments then
    (``service.ingest.apply``), so links are known up to here. Read by id (the primary key), not a scan."""
    return session.exec(
        select(InboxEvent.processed_at)
        .where(InboxEvent.status == InboxStatus.PROCESSED)
        .order_by(col(InboxEvent.id).desc())
        .limit(1)
    ).first()


def unlinked_incidents(session: Session, *, since: datetime, limit: int = 50) -> Listing:
    """Incidents since ``since`` not linked to any deployment that a change may have caused (they cannot count
    in change failure rate); an infrastructure incident is no change failure, so it is not listed to link."""
    where = (col(Incident.caused_by_deployment_id).is_(None), col(Incident.started_at) >= since, _linkable())
    rows = session.exec(select(Incident).where(*where).order_by(col(Incident.started_at).desc()).limit(limit)).all()
    total = session.exec(select(func.count()).select_from(Incident).where(*where)).one()
    return Listing(list(rows), int(total))


def deployments_without_commits(
    session: Session, *, since: datetime, environments: Sequence[str], limit: int = 50
) -> Listing:
    """Production deployments since ``since`` that shipped no known commit (no lead time for them)."""
    shipped = exists().where(col(DeploymentChange.deployment_id) == col(Deployment.id))
    where = (
        col(Deployment.environment).in_(list(environments)),
        col(Deployment.finished_at) >= since,
        ~shipped,
    )
    rows = session.exec(
        select(Deployment).where(*where).order_by(col(Deployment.finished_at).desc()).limit(limit)
    ).all()
    total = session.exec(select(func.count()).select_from(Deployment).where(*where)).one()
    return Listing(list(rows), int(total))


def uncatalogued_services(session: Session, *, since: datetime) -> list[tuple[str, int]]:
    """(service, events since ``since``) for services seen in events but not described in the catalogue:
    no row at all, or the row made when an event first named them (no team)."""
    seen: Any = union_all(
        sa_select(col(Deployment.service).label("name"), literal(1).label("n")).where(
            col(Deployment.finished_at) >= since
        ),
        sa_select(col(Incident.service).label("name"), literal(1).label("n")).where(col(Incident.started_at) >= since),
        sa_select(col(FrictionReport.service).label("name"), literal(1).label("n")).where(
            col(FrictionReport.created_at) >= since, col(FrictionReport.service).is_not(None)
        ),
    ).subquery()
    statement: Any = (
        sa_select(seen.c.name, func.count())
        .select_from(seen.outerjoin(Service, col(Service.slug) == seen.c.name))
        .where(col(Service.team).is_(None))
        .group_by(seen.c.name)
        .order_by(func.count().desc(), seen.c.name)
    )
    return [(str(name), int(count)) for name, count in session.exec(statement).all()]
