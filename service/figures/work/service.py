"""Reads for work metrics: SQL → the DataFrames service/figures/work/compute.py and panel.py take.

Shipments are found at read time from references, so they never depend on the order events arrived
in: a key named by a commit, a pull request (title, body or branch), a branch, or a deployment, joined
to the successful production deployments that shipped those changes (``deployment_change``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import String, and_, cast, or_, select, union
from sqlmodel import Session, col

from service.core.errors import InvalidInput
from service.core.models import Change, Deployment, DeploymentChange, Incident, PullRequest, Service
from service.core.models.work import WorkItem, WorkItemReference, WorkItemStatus
from service.figures.work.compute import done_not_shipped, support_tickets, time_to_ship, warnings
from service.figures.work.panel import PANELS
from service.figures.work.summary import work_summary

ITEM_COLUMNS = ["source", "key", "kind", "status", "service", "team", "parent", "created_at", "deleted_at", "title"]
SHIPMENT_COLUMNS = ["key", "finished_at", "service", "platform", "deployment_id"]


@dataclass(frozen=True, slots=True)
class WorkFrames:
    items: pd.DataFrame
    history: pd.DataFrame
    shipments: pd.DataFrame
    references: pd.DataFrame


def _frame(session: Session, statement: Any, columns: list[str], times: Iterable[str]) -> pd.DataFrame:
    rows = session.connection().execute(statement).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=columns)
    for name in times:
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def _production(environments: frozenset[str]) -> Any:
    return and_(
        col(Deployment.status) == "success",
        col(Deployment.environment).in_(sorted(environments)),
        col(Deployment.finished_at).is_not(None),
    )


def shipments_statement(environments: frozenset[str]) -> Any:
    """(key, finished_at, service, platform, deployment id) of each production deployment naming a key."""
    r, d, c, dc, p = WorkItemReference, Deployment, Change, DeploymentChange, PullRequest
    shipped = (col(d.finished_at), col(d.service), col(d.platform), col(d.id))

    def via_changes(kind: str, on: Any, *joins: tuple[Any, Any]) -> Any:
        statement = select(col(r.key), *shipped).select_from(r)
        for model, condition in joins:
            statement = statement.join(model, condition)
        return (
            statement.join(c, on)
            .join(dc, col(dc.change_id) == col(c.id))
            .join(d, col(d.id) == col(dc.deployment_id))
            .where(col(r.kind) == kind, _production(environments))
        )

    same_repo = col(c.repository) == col(r.repository)
    pr_changes = and_(
        col(c.repository) == col(p.repository),
        or_(col(c.sha) == col(p.merge_commit_sha), col(c.merged_into) == col(p.merge_commit_sha)),
    )
    by_number = (p, and_(col(p.repository) == col(r.repository), cast(col(p.number), String) == col(r.ref)))
    by_branch = (p, and_(col(p.repository) == col(r.repository), col(p.head_branch) == col(r.ref)))
    direct = (
        select(col(r.key), *shipped)
        .select_from(r)
        .join(d, and_(col(d.source) == col(r.repository), col(d.external_id) == col(r.ref)))
        .where(col(r.kind) == "deployment", _production(environments))
    )
    return union(
        via_changes("commit", and_(same_repo, col(c.sha) == col(r.ref))),
        via_changes("branch", and_(same_repo, col(c.branch) == col(r.ref))),
        via_changes("pull_request", and_(same_repo, cast(col(c.pr_number), String) == col(r.ref))),
        via_changes("pull_request", pr_changes, by_number),
        via_changes("branch", pr_changes, by_branch),
        direct,
    )


def load_work(session: Session, *, environments: frozenset[str]) -> WorkFrames:
    items = _frame(
        session,
        select(*(col(getattr(WorkItem, name)) for name in ITEM_COLUMNS)),
        ITEM_COLUMNS,
        ("created_at", "deleted_at"),
    )
    history = _frame(
        session,
        select(
            col(WorkItemStatus.source),
            col(WorkItemStatus.key),
            col(WorkItemStatus.status),
            col(WorkItemStatus.changed_at),
        ),
        ["source", "key", "status", "changed_at"],
        ("changed_at",),
    )
    aliases = session.connection().execute(
        select(col(WorkItemReference.ref), col(WorkItemReference.key)).where(col(WorkItemReference.kind) == "node")
    )
    alias = {f"node:{ref}": key for ref, key in aliases}
    history["key"] = history["key"].map(lambda key: alias.get(key, key))
    shipments = _frame(session, shipments_statement(environments), SHIPMENT_COLUMNS, ("finished_at",))
    named = select(col(WorkItemReference.key)).where(col(WorkItemReference.kind) != "node").distinct()
    references = _frame(session, named, ["key"], ())  # an alias names no change: it is not a reference
    return WorkFrames(items=items, history=history, shipments=shipments, references=references)


def load_incidents(session: Session, *, service: str | None = None) -> pd.DataFrame:
    """Incidents (of ``service``, or all) with their category (None read as ``unknown``): id, service, team,
    started_at, platform, category."""
    statement = select(
        col(Incident.id),
        col(Incident.service),
        col(Service.team),
        col(Incident.started_at),
        col(Incident.platform),
        col(Incident.category),
    ).outerjoin(Service, col(Service.slug) == col(Incident.service))
    if service is not None:
        statement = statement.where(col(Incident.service) == service)
    frame = _frame(session, statement, ["id", "service", "team", "started_at", "platform", "category"], ("started_at",))
    frame["category"] = frame["category"].fillna("unknown")
    return frame


def service_teams(session: Session) -> dict[str, str | None]:
    rows = session.connection().execute(select(col(Service.slug), col(Service.team))).all()
    return {str(slug): team for slug, team in rows}


def load_summary(
    session: Session,
    *,
    environments: frozenset[str],
    start: datetime,
    end: datetime,
    now: datetime,
    min_sample: int,
    service: str | None = None,
    team: str | None = None,
) -> dict[str, Any]:
    """``GET /api/v1/metrics/work``: time to ship, done but not shipped, support load, incidents by category."""
    work = load_work(session, environments=environments)
    teams = service_teams(session)
    samples = time_to_ship(work.items, work.history, work.shipments, work.references)
    waiting = done_not_shipped(work.items, work.history, work.shipments, work.references, now=now)
    tickets = support_tickets(work.items, work.history)
    incidents = load_incidents(session)
    found = warnings(samples, work.history, work.items)
    frames = [samples, waiting, tickets, incidents]
    if service:
        frames = [frame[frame["service"] == service] for frame in frames]
    if team:
        frames = [frame[frame["service"].map(teams) == team] for frame in frames]
    samples, waiting, tickets, incidents = frames
    return work_summary(
        samples, waiting, tickets, incidents, found, start=start, end=end, now=now, min_sample=min_sample
    )


def load_panel(
    session: Session,
    *,
    key: str,
    tz: str,
    start: datetime,
    end: datetime,
    environments: frozenset[str],
    services: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The per-service weekly panel of a digest key (``time_to_ship``, ``support_tickets``,
    ``infra_incidents``, ``app_incidents``) from the database; see service/figures/work/panel.py."""
    if key not in PANELS:
        raise InvalidInput(f"no panel {key!r}; panels: {', '.join(sorted(PANELS))}", field="key")
    source, builder = PANELS[key]
    names = list(services) if services is not None else sorted(service_teams(session))
    if source == "incidents":
        frame = load_incidents(session)
    else:
        work = load_work(session, environments=environments)
        if source == "samples":
            frame = time_to_ship(work.items, work.history, work.shipments, work.references)
        else:
            frame = support_tickets(work.items, work.history)
    return builder(frame, tz=tz, start=start, end=end, services=names)


def load_panels(
    session: Session,
    *,
    tz: str,
    start: datetime,
    end: datetime,
    environments: frozenset[str],
    services: Iterable[str] | None = None,
    keys: Iterable[str] = tuple(PANELS),
) -> dict[str, pd.DataFrame]:
    """Every panel asked for, from one read of the work and incident tables (``load_panel`` reads them
    once per key)."""
    wanted = list(keys)
    unknown = sorted(set(wanted) - set(PANELS))
    if unknown:
        raise InvalidInput(f"no panel {unknown[0]!r}; panels: {', '.join(sorted(PANELS))}", field="key")
    names = list(services) if services is not None else sorted(service_teams(session))
    inputs: dict[str, pd.DataFrame] = {}
    sources = {PANELS[key][0] for key in wanted}
    if "incidents" in sources:
        inputs["incidents"] = load_incidents(session)
    if sources & {"samples", "tickets"}:
        work = load_work(session, environments=environments)
        inputs["samples"] = time_to_ship(work.items, work.history, work.shipments, work.references)
        inputs["tickets"] = support_tickets(work.items, work.history)
    return {key: PANELS[key][1](inputs[PANELS[key][0]], tz=tz, start=start, end=end, services=names) for key in wanted}
