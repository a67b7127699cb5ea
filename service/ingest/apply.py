"""Apply canonical records to the derived tables: idempotent upserts keyed by natural keys.

Called by workers inside the transaction that claimed the inbox rows, so the derived rows and the
rows' ``processed`` status commit together. Applying the same records twice changes nothing.

A batch costs a fixed number of statements, not a number per event: each table gets one pipelined
``executemany`` upsert whose ON CONFLICT clause holds the merge rules below, then one lookup of ids.
Merge rules: a terminal deployment status is never replaced by ``in_progress``; an incident's status
only moves forward (triggered → acknowledged → resolved) and its start is the earliest seen; other
fields take the newest non-null value.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    DateTime,
    Integer,
    Interval,
    Text,
    and_,
    case,
    func,
    literal,
    or_,
    tuple_,
    union,
    update,
)
from sqlmodel import Session, col, select

from service.core.aliases import catalogue_names, resolve
from service.core.db import any_of, execute_rows, upsert_insert
from service.core.identity import repository_service, services_in_text
from service.core.marks import mark_dirty
from service.core.models import (
    Change,
    Deployment,
    DeploymentChange,
    FrictionReport,
    Incident,
    PlatformAssignment,
    Service,
)
from service.core.records import (
    ChangeRecord,
    CostRecord,
    DeploymentRecord,
    FrictionRecord,
    IncidentRecord,
    MeasurementRecord,
    PullRequestRecord,
    Record,
    WorkItemRecord,
    WorkItemReferenceRecord,
    WorkItemStatusRecord,
)
from service.core.vocab import CHANGE_CAUSED, CategorySource, DeploymentStatus, IncidentStatus, LinkMethod, ReportStatus
from service.figures.catalogue import platform_at
from service.figures.cost.apply import apply_cost_records
from service.figures.friction.categorise import Taxonomy
from service.figures.friction.learning import LearnedModel, categorise_with
from service.figures.work.apply import apply_work_records
from service.ingest.leadtime import LeadTimeRules, apply_pull_requests, judge_pairs, link_pushed_changes

log = logging.getLogger("frictionlog.ingest")

_INCIDENT_RANK = {status: rank for rank, status in enumerate(IncidentStatus)}
IN_PROGRESS = DeploymentStatus.IN_PROGRESS
_CATEGORY_RANK = {"rule": 1, "team_map": 2, "service_map": 2, "explicit": 3}


@dataclass(frozen=True, slots=True)
class IngestPolicy:
    """The rules applying records depends on: what counts as production, how incidents link, the taxonomy."""

    production_environments: frozenset[str]
    taxonomy: Taxonomy
    window: timedelta | None = timedelta(hours=24)
    """Fallback: the last production deployment of the service this long before the incident; None = off."""
    bot_authors: frozenset[str] = frozenset()
    model: LearnedModel | None = None
    """The categoriser learned from leads' corrections, blended with the taxonomy's rules."""
    timezone: str = "UTC"
    """Weekly rollups are keyed by ISO week in this zone."""

    @property
    def lead_time(self) -> LeadTimeRules:
        return LeadTimeRules(production_environments=self.production_environments, bot_authors=self.bot_authors)


def apply_records(session: Session, records: Sequence[Record], *, policy: IngestPolicy) -> None:
    records = _with_catalogue_names(session, records)
    changes = _of_kind(records, ChangeRecord)
    merges = _of_kind(records, PullRequestRecord)
    deployments = _of_kind(records, DeploymentRecord)
    incidents = _of_kind(records, IncidentRecord)
    frictions = _of_kind(records, FrictionRecord)
    work_items = _of_kind(records, WorkItemRecord)
    references = _of_kind(records, WorkItemReferenceRecord)
    points = _of_kind(records, WorkItemStatusRecord)
    costs = _of_kind(records, CostRecord)
    measurements = _of_kind(records, MeasurementRecord)
    slugs = _service_slugs([*changes, *deployments, *incidents, *frictions, *costs, *measurements])
    _ensure_services(session, slugs)
    histories = _platform_histories(session, slugs)
    change_ids = _upsert_changes(session, changes, deployments)
    apply_pull_requests(session, merges, policy.lead_time)
    deployment_ids = _upsert_deployments(session, deployments, histories) or _deployment_ids(session, deployments)
    _link_commits(session, deployments, deployment_ids, change_ids)
    link_pushed_changes(session, deployment_ids.values(), policy.lead_time)
    judge_pairs(session, _shipped_changes(session, deployment_ids.values()), policy.lead_time)
    _upsert_incidents(session, incidents, histories)
    _link_incidents(session, incidents, deployments, policy)
    _upsert_friction(session, frictions, histories, policy)
    apply_cost_records(session, costs, measurements, histories, tz=policy.timezone)
    apply_work_records(session, work_items, references, points)
    touched = _touched_weeks(deployments, incidents, frictions) + _linked_deployment_weeks(session, incidents)
    mark_dirty(session, _dirty(touched), tz=policy.timezone)


_R = TypeVar("_R")


def _of_kind(records: Sequence[Record], kind: type[_R]) -> list[_R]:
    """The records of one kind, in the batch's order."""
    return [r for r in records if isinstance(r, kind)]


def _service_slugs(
    records: Sequence[
        ChangeRecord | DeploymentRecord | IncidentRecord | FrictionRecord | CostRecord | MeasurementRecord
    ],
) -> set[str]:
    """The services the records name (a record without one names none)."""
    return {r.service for r in records if r.service}


def _touched_weeks(
    deployments: list[DeploymentRecord], incidents: list[IncidentRecord], frictions: list[FrictionRecord]
) -> list[tuple[str | None, datetime | None]]:
    """(service, when) of every deployment, incident and friction report: their weeks' rollups must refresh."""
    touched: list[tuple[str | None, datetime | None]] = [
        (d.service, d.finished_at or d.started_at) for d in deployments
    ]
    touched += [(i.service, i.started_at) for i in incidents] + [(f.service, f.created_at) for f in frictions]
    return touched


def _dirty(touched: Sequence[tuple[str | None, datetime | None]]) -> list[tuple[str, datetime]]:
    """The touched (service, when) pairs that name both."""
    return [(s, m) for s, m in touched if s and m]


def _with_catalogue_names(session: Session, records: Sequence[Record]) -> list[Record]:
    """Every record under its catalogue name: a change without a service takes its repository's, an old
    (aliased) name becomes the service's; unmapped monorepo commits are counted and dropped."""
    named: list[Record] = []
    unmapped: dict[str, int] = {}
    for record in records:
        if isinstance(record, ChangeRecord):
            if record.unmapped:
                unmapped[record.repository] = unmapped.get(record.repository, 0) + 1
                continue
            if record.service is None:
                record = replace(record, service=repository_service(record.repository))
        named.append(record)
    for repository, count in sorted(unmapped.items()):
        log.warning("ingest.unmapped_commits repository=%s count=%s (no monorepo prefix matches)", repository, count)
    named = _friction_services_from_text(session, named)
    aliases = resolve(session, {s for r in named if (s := getattr(r, "service", None))})
    if not aliases:
        return named
    return [_renamed(r, aliases) for r in named]


def _friction_services_from_text(session: Session, records: list[Record]) -> list[Record]:
    """A friction report sent without a service takes the one catalogued service (or alias) its text names
    as a whole word — "cold starts take 40 s on ml-api" — and none when it names none or several."""
    if not any(isinstance(r, FrictionRecord) and r.service is None for r in records):
        return records
    names = catalogue_names(session)
    named: list[Record] = []
    for record in records:
        if isinstance(record, FrictionRecord) and record.service is None:
            found = services_in_text(record.text, names)
            if len(found) == 1:
                record = replace(record, service=found[0])
        named.append(record)
    return named


def _renamed(record: Record, aliases: dict[str, str]) -> Record:
    if isinstance(record, PullRequestRecord | WorkItemStatusRecord | WorkItemReferenceRecord):
        return record
    if record.service is None or record.service not in aliases:
        return record
    return replace(record, service=aliases[record.service])


def _ensure_services(session: Session, slugs: Iterable[str]) -> None:
    """Services first seen in an event join the catalogue with no team; known ones are untouched."""
    rows = [{"slug": slug} for slug in sorted(slugs)]
    execute_rows(session, upsert_insert(session, Service).on_conflict_do_nothing(), rows, key=("slug",))


def _platform_histories(session: Session, slugs: set[str]) -> dict[str, list[PlatformAssignment]]:
    histories: dict[str, list[PlatformAssignment]] = {slug: [] for slug in slugs}
    if slugs:
        statement = (
            select(PlatformAssignment)
            .where(col(PlatformAssignment.service).in_(slugs))
            .order_by(col(PlatformAssignment.effective_from))
        )
        for period in session.exec(statement):
            histories[period.service].append(period)
    return histories


def _deployment_repository(record: DeploymentRecord) -> str:
    return record.repository or f"service:{record.service}"


def _upsert_changes(
    session: Session, changes: list[ChangeRecord], deployments: list[DeploymentRecord]
) -> dict[tuple[str, str, str], int]:
    """Upsert the changes; on PostgreSQL return (repository, sha, service) → id of every row written."""
    rows = [
        {
            "sha": c.sha,
            "repository": c.repository,
            "service": c.service,
            "committed_at": c.committed_at,
            "pr_number": c.pr_number,
            "merged_at": c.merged_at,
            "branch": c.branch,
            "on_default_branch": c.on_default_branch,
            "push_order": c.push_order,
            "author": c.author,
        }
        for c in changes
    ] + [
        {
            "sha": commit.sha,
            "repository": _deployment_repository(d),
            "service": d.service,
            "committed_at": commit.committed_at,
            "pr_number": None,
            "merged_at": None,
            "branch": None,
            "on_default_branch": False,
            "push_order": None,
            "author": None,
        }
        for d in deployments
        for commit in d.commits
    ]
    insert = upsert_insert(session, Change)
    table = Change.__table__  # type: ignore[attr-defined]
    new = insert.excluded
    # A commit seen on a branch and later on the default branch (fast-forward, rebase) takes the
    # default branch's place in push order; otherwise the first sighting stays.
    landed = and_(new.on_default_branch, ~table.c.on_default_branch)
    set_: dict[str, Any] = {
        name: func.coalesce(table.c[name], new[name]) for name in ("pr_number", "merged_at", "author")
    }
    for name in ("branch", "push_order"):
        set_[name] = case((landed, new[name]), else_=func.coalesce(table.c[name], new[name]))
    set_["on_default_branch"] = table.c.on_default_branch | new.on_default_branch
    key = ("repository", "sha", "service")
    statement = insert.on_conflict_do_update(index_elements=list(key), set_=set_)
    written = execute_rows(session, statement, rows, key=key, returning=("id", *key))
    return {(repository, sha, service): row_id for row_id, repository, sha, service in written}


def _newest_non_null(table: Any, new: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """ON CONFLICT SET for fields where the newest non-null value wins (a later event fills or corrects)."""
    return {name: func.coalesce(new[name], table.c[name]) for name in names}


def _upsert_deployments(
    session: Session, deployments: list[DeploymentRecord], histories: dict[str, list[PlatformAssignment]]
) -> dict[Any, int]:
    """Upsert the deployments; on PostgreSQL return (source, external_id) → id (elsewhere ``{}``)."""
    rows = [
        {
            "source": d.source,
            "external_id": d.external_id,
            "service": d.service,
            "environment": d.environment,
            "status": d.status,
            "sha": d.sha,
            "repository": d.repository,
            "version": d.version,
            "started_at": d.started_at,
            "finished_at": d.finished_at,
            "platform": d.platform or platform_at(histories.get(d.service, []), d.finished_at),
            "is_rollback": d.rollback_of is not None,
            "rollback_of": d.rollback_of,
            "url": d.url,
        }
        for d in deployments
    ]
    insert = upsert_insert(session, Deployment)
    table = Deployment.__table__  # type: ignore[attr-defined]
    new = insert.excluded
    set_ = _newest_non_null(
        table, new, ("sha", "repository", "version", "started_at", "finished_at", "platform", "rollback_of", "url")
    )
    set_ |= {
        "service": new.service,
        "environment": new.environment,
        "status": case(
            (and_(new.status == IN_PROGRESS, table.c.status != IN_PROGRESS), table.c.status), else_=new.status
        ),
        "is_rollback": func.coalesce(new.rollback_of, table.c.rollback_of).is_not(None),
    }
    statement = insert.on_conflict_do_update(index_elements=["source", "external_id"], set_=set_)
    key = ("source", "external_id")
    written = execute_rows(session, statement, rows, key=key, returning=("id", *key))
    # An incident that named one of these deployments before it arrived gets its link now.
    if deployments:
        named = select(Deployment.id).where(
            col(Deployment.source) == col(Incident.source),
            col(Deployment.external_id) == col(Incident.caused_by_deployment),
        )
        session.exec(
            update(Incident)
            .where(
                col(Incident.caused_by_deployment).is_not(None),
                col(Incident.caused_by_deployment_id).is_(None),
                named.exists(),
            )
            .values(caused_by_deployment_id=named.scalar_subquery(), link_method=LinkMethod.EXPLICIT)
        )
    return {(source, external_id): row_id for row_id, source, external_id in written}


def _ids(session: Session, model: Any, columns: tuple[str, str], keys: set[tuple[str, str]]) -> dict[Any, int]:
    """(first, second) → id of the rows with those keys."""
    if not keys:
        return {}
    table = model.__table__
    first, second = table.c[columns[0]], table.c[columns[1]]
    statement = select(table.c.id, first, second)
    if session.get_bind().dialect.name == "postgresql":
        given = _key_table(keys)
        statement = statement.join(given, and_(first == given.c.first, second == given.c.second))
    else:
        statement = statement.where(tuple_(first, second).in_(keys))
    return {(a, b): row_id for row_id, a, b in session.connection().execute(statement)}


def _key_table(keys: set[tuple[str, str]]) -> Any:
    """PostgreSQL: the keys as a two-column table (``unnest`` of two arrays) to join against — one index
    probe per key and one statement text whatever the batch size. (An IN list of a thousand keys made
    PostgreSQL compare every row with every key once the tables grew: 0.75 s a batch at 24,000 changes.)"""
    ordered = sorted(keys)
    return (
        func.unnest(literal([k[0] for k in ordered], ARRAY(Text)), literal([k[1] for k in ordered], ARRAY(Text)))
        .table_valued("first", "second")
        .render_derived(name="given")
    )


def _deployment_ids(session: Session, deployments: list[DeploymentRecord]) -> dict[Any, int]:
    return _ids(session, Deployment, ("source", "external_id"), {(d.source, d.external_id) for d in deployments})


def _link_commits(
    session: Session,
    deployments: list[DeploymentRecord],
    deployment_ids: dict[Any, int],
    change_ids: dict[tuple[str, str, str], int],
) -> None:
    """Record the commits a deployment lists itself (the generic form's ``commits``) as shipped in it.
    ``change_ids`` are those the upsert returned (PostgreSQL); elsewhere they are looked up here."""
    with_commits = [d for d in deployments if d.commits]
    if not with_commits:
        return
    if not change_ids:
        change_ids = _change_ids(session, {(_deployment_repository(d), c.sha) for d in with_commits for c in d.commits})
    rows = [
        {
            "deployment_id": deployment_ids[(d.source, d.external_id)],
            "change_id": change_ids[(_deployment_repository(d), c.sha, d.service)],
            "excluded": None,
        }
        for d in with_commits
        for c in d.commits
    ]
    statement = upsert_insert(session, DeploymentChange).on_conflict_do_nothing()
    execute_rows(session, statement, rows, key=("deployment_id", "change_id"))


def _shipped_changes(session: Session, deployment_ids: Iterable[int]) -> list[int]:
    """The commits these deployments shipped (their own lists, pushes, named changes)."""
    ids = list(deployment_ids)
    if not ids:
        return []
    statement = select(DeploymentChange.change_id).where(any_of(session, col(DeploymentChange.deployment_id), ids))
    return list(session.exec(statement))


def _change_ids(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str, str], int]:
    """(repository, sha, service) → id of the changes with these (repository, sha)."""
    table = Change.__table__  # type: ignore[attr-defined]
    statement = select(table.c.id, table.c.repository, table.c.sha, table.c.service)
    if session.get_bind().dialect.name == "postgresql":
        given = _key_table(keys)
        statement = statement.join(given, and_(table.c.repository == given.c.first, table.c.sha == given.c.second))
    else:  # two plain IN lists compile far faster than a tuple IN of a thousand pairs; exact pairs kept below
        statement = statement.where(table.c.repository.in_({k[0] for k in keys}), table.c.sha.in_({k[1] for k in keys}))
    return {(repo, sha, service): row_id for row_id, repo, sha, service in session.connection().execute(statement)}


def _rank(column: Any) -> Any:
    return case(_INCIDENT_RANK, value=column, else_=0)


def _category_rank(column: Any) -> Any:
    return case(_CATEGORY_RANK, value=column, else_=0)


def _upsert_incidents(
    session: Session, incidents: list[IncidentRecord], histories: dict[str, list[PlatformAssignment]]
) -> None:
    rows = [
        {
            "source": i.source,
            "external_id": i.external_id,
            "service": i.service,
            "status": i.status,
            "severity": i.severity,
            "title": i.title,
            "started_at": i.started_at,
            "acknowledged_at": i.acknowledged_at,
            "resolved_at": i.resolved_at,
            "platform": platform_at(histories.get(i.service, []), i.started_at),
            "commit_sha": i.commit_sha,
            "caused_by_deployment": i.caused_by_deployment,
            "url": i.url,
            "category": i.category,
            "category_source": i.category_source,
            "category_evidence": list(i.category_evidence),
        }
        for i in incidents
    ]
    insert = upsert_insert(session, Incident)
    table = Incident.__table__  # type: ignore[attr-defined]
    new = insert.excluded
    earlier = new.started_at < table.c.started_at
    set_ = _newest_non_null(
        table, new, ("severity", "title", "acknowledged_at", "resolved_at", "commit_sha", "caused_by_deployment", "url")
    )
    set_ |= {
        "service": new.service,
        "status": case((_rank(new.status) >= _rank(table.c.status), new.status), else_=table.c.status),
        "started_at": case((earlier, new.started_at), else_=table.c.started_at),
        "platform": case((earlier, new.platform), else_=table.c.platform),
    }
    # A category decided a stronger way (explicit > service or team map > rule) is never replaced by a weaker one.
    stronger = _category_rank(new.category_source) >= _category_rank(table.c.category_source)
    for name in ("category", "category_source", "category_evidence"):
        set_[name] = case((and_(new.category.is_not(None), stronger), new[name]), else_=table.c[name])
    statement = insert.on_conflict_do_update(index_elements=["source", "external_id"], set_=set_)
    execute_rows(session, statement, rows, key=("source", "external_id"))


def _link_incidents(
    session: Session, incidents: list[IncidentRecord], deployments: list[DeploymentRecord], policy: IngestPolicy
) -> None:
    """(Re)link this batch's incidents, and older ones a new deployment may explain, so that links depend
    on the data and not on the order events arrived in (a rebuild gives the same links).

    Candidates: the batch's incidents, and per service one range — from its first new production
    deployment to the last one plus the window — or naming one of their commits. Over-selecting is
    harmless: linking is idempotent. On PostgreSQL one SELECT of fixed text finds them and one UPDATE
    links them all; elsewhere (SQLite, embedded: small batches) each candidate is linked in turn."""
    keys = {(i.source, i.external_id) for i in incidents}
    spans: dict[str, tuple[datetime, datetime, set[str]]] = {}
    for d in deployments:
        if d.finished_at is None or d.environment not in policy.production_environments:
            continue
        low, high, shas = spans.get(d.service, (d.finished_at, d.finished_at, set()))
        spans[d.service] = (min(low, d.finished_at), max(high, d.finished_at), shas | ({d.sha} if d.sha else set()))
    if not keys and not spans:
        return
    window = policy.window or timedelta(0)
    not_explicit = func.coalesce(col(Incident.link_method), "") != LinkMethod.EXPLICIT
    if session.get_bind().dialect.name != "postgresql":
        candidates: list[ColumnElement[bool]] = []
        if keys:
            sources, external_ids = {k[0] for k in keys}, {k[1] for k in keys}
            candidates.append(and_(col(Incident.source).in_(sources), col(Incident.external_id).in_(external_ids)))
        for service, (low, high, shas) in spans.items():
            near = col(Incident.started_at).between(low, high + window)
            candidates.append(and_(col(Incident.service) == service, or_(near, col(Incident.commit_sha).in_(shas))))
        ids = [row_id for row_id in session.exec(select(Incident.id).where(or_(*candidates))) if row_id is not None]
    else:
        ids = _incident_candidates(
            session, keys, {s: (low, high + window, shas) for s, (low, high, shas) in spans.items()}
        )
    if ids:
        session.exec(
            _link_causes(session, ids, policy).where(not_explicit).execution_options(synchronize_session="fetch")
        )


def _incident_candidates(
    session: Session, keys: set[tuple[str, str]], spans: dict[str, tuple[datetime, datetime, set[str]]]
) -> list[int]:
    """PostgreSQL: the ids of the incidents :func:`_link_incidents` relinks, in one statement whose text
    does not depend on the batch (the keys and spans go as arrays joined with ``unnest``)."""
    table: Any = Incident.__table__  # type: ignore[attr-defined]
    by_key = select(table.c.id).where(
        any_of(session, table.c.source, sorted({k[0] for k in keys})),
        any_of(session, table.c.external_id, sorted({k[1] for k in keys})),
    )
    services = sorted(spans)
    ranges = (
        func.unnest(
            literal(services, ARRAY(Text)),
            literal([spans[s][0] for s in services], ARRAY(DateTime(timezone=True))),
            literal([spans[s][1] for s in services], ARRAY(DateTime(timezone=True))),
        )
        .table_valued("service", "low", "high")
        .render_derived(name="span")
    )
    near = select(table.c.id).join(
        ranges, and_(table.c.service == ranges.c.service, table.c.started_at.between(ranges.c.low, ranges.c.high))
    )
    pairs = sorted((s, sha) for s in services for sha in spans[s][2])
    named = (
        func.unnest(literal([p[0] for p in pairs], ARRAY(Text)), literal([p[1] for p in pairs], ARRAY(Text)))
        .table_valued("service", "sha")
        .render_derived(name="shipped")
    )
    by_sha = select(table.c.id).join(named, and_(table.c.service == named.c.service, table.c.commit_sha == named.c.sha))
    statement = union(by_key, near, by_sha)
    return sorted(row_id for (row_id,) in session.connection().execute(statement))


def _link_causes(session: Session, ids: list[int], policy: IngestPolicy) -> Any:
    """The one linking rule, as one UPDATE for every incident in ``ids`` on either backend: the named
    deployment, else the production deployment of the named commit, else (if allowed) the latest successful
    production deployment in the window before it started — for an incident a change may have caused
    (``vocab.CHANGE_CAUSED``: an infrastructure incident is no change failure); an incident none of these finds
    keeps its link, but never a window link it may not have.
    A named deployment that has not arrived yet links itself when it does (see ``_upsert_deployments``)."""
    incident: Any = Incident.__table__  # type: ignore[attr-defined]
    deployment: Any = Deployment.__table__  # type: ignore[attr-defined]
    production = deployment.c.environment.in_(sorted(policy.production_environments))
    named = (
        select(deployment.c.id)
        .where(deployment.c.source == incident.c.source, deployment.c.external_id == incident.c.caused_by_deployment)
        .limit(1)
        .scalar_subquery()
    )
    by_sha = (
        select(deployment.c.id)
        .where(deployment.c.service == incident.c.service, deployment.c.sha == incident.c.commit_sha, production)
        .order_by(deployment.c.finished_at)
        .limit(1)
        .scalar_subquery()
    )
    by_window: Any = literal(None, Integer)
    if policy.window is not None:
        by_window = (
            select(deployment.c.id)
            .where(
                deployment.c.service == incident.c.service,
                production,
                deployment.c.status == DeploymentStatus.SUCCESS,
                deployment.c.finished_at <= incident.c.started_at,
                deployment.c.finished_at >= _window_start(session, incident.c.started_at, policy.window),
            )
            .order_by(deployment.c.finished_at.desc())
            .limit(1)
            .scalar_subquery()
        )
    has_name = incident.c.caused_by_deployment.is_not(None)
    sha_found = and_(incident.c.commit_sha.is_not(None), by_sha.is_not(None))
    linkable = or_(incident.c.category.is_(None), incident.c.category.in_(CHANGE_CAUSED))
    by_window = case((linkable, by_window), else_=literal(None, Integer))
    kept = case(  # an earlier window link of an incident now classified as not change-caused is dropped
        (and_(~linkable, incident.c.link_method == LinkMethod.WINDOW), literal(None, Integer)),
        else_=incident.c.caused_by_deployment_id,
    )
    return (
        update(Incident)
        .where(any_of(session, col(Incident.id), ids))
        .values(
            caused_by_deployment_id=case(
                (has_name, named),
                (sha_found, by_sha),
                else_=func.coalesce(by_window, kept),
            ),
            link_method=case(
                (has_name, case((named.is_not(None), LinkMethod.EXPLICIT), else_=None)),
                (sha_found, LinkMethod.SHA),
                (by_window.is_not(None), LinkMethod.WINDOW),
                (and_(~linkable, incident.c.link_method == LinkMethod.WINDOW), None),
                else_=incident.c.link_method,
            ),
        )
    )


def _window_start(session: Session, started_at: Any, window: timedelta) -> Any:
    """``started_at − window`` in SQL: interval arithmetic on PostgreSQL; on SQLite, where a UTC datetime is
    stored as ``YYYY-MM-DD HH:MM:SS.ffffff`` text, the same text form (to the millisecond) to compare with."""
    if session.get_bind().dialect.name == "postgresql":
        return started_at - literal(window, Interval())
    return func.strftime("%Y-%m-%d %H:%M:%f", started_at, f"-{window.total_seconds()} seconds")


def _upsert_friction(
    session: Session,
    reports: list[FrictionRecord],
    histories: dict[str, list[PlatformAssignment]],
    policy: IngestPolicy,
) -> None:
    """Insert reports under their report number; on a rebuild only a machine-made category is recomputed,
    so a lead's correction (``category_source = human``) and the triage state survive."""
    rows = []
    for report in reports:
        verdict, chosen_by = categorise_with(report.text, policy.taxonomy, policy.model)
        rows.append(
            {
                "id": report.report_id,
                "source": report.source,
                "reporter": report.reporter,
                "contact": report.contact,
                "text": report.text,
                "service": report.service,
                "platform": platform_at(histories.get(report.service or "", []), report.created_at),
                "category": verdict.category,
                "category_source": chosen_by,
                "confidence": verdict.confidence,
                "evidence": list(verdict.evidence),
                "minutes_lost": report.minutes_lost,
                "impact": report.impact,
                "frequency": report.frequency,
                "blocking": report.blocking,
                "slack_channel": report.slack_channel,
                "permalink": report.permalink,
                "created_at": report.created_at,
                "status": ReportStatus.OPEN,
                "votes": 1,
            }
        )
    insert = upsert_insert(session, FrictionReport)
    table = FrictionReport.__table__  # type: ignore[attr-defined]
    statement = insert.on_conflict_do_update(
        index_elements=["id"],
        set_={name: insert.excluded[name] for name in ("category", "category_source", "confidence", "evidence")},
        where=table.c.category_source != CategorySource.HUMAN,
    )
    execute_rows(session, statement, rows, key=("id",))


def _linked_deployment_weeks(session: Session, incidents: list[IncidentRecord]) -> list[tuple[str, datetime]]:
    """An incident linked to a deployment makes that deployment's week fail: its rollup must refresh."""
    keys = sorted({(i.source, i.external_id) for i in incidents})
    if not keys:
        return []
    rows = session.exec(
        select(Deployment.service, Deployment.finished_at)
        .join(Incident, col(Incident.caused_by_deployment_id) == col(Deployment.id))
        .where(tuple_(col(Incident.source), col(Incident.external_id)).in_(keys))
    ).all()
    return [(service, finished) for service, finished in rows if finished is not None]
