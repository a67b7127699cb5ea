"""Success criteria and migration edits, the database side. Every change to a criterion — or to the
migration's start or target date — is recorded with who and when; those made after the migration
started are flagged, and the digest lists them. No quiet moving of goalposts. Functions here commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from service.core.errors import Conflict, InvalidInput, NotFound
from service.core.models import Migration
from service.core.models.criteria import CriteriaChange, SuccessCriterion
from service.core.timeutil import as_utc, utcnow
from service.core.vocab import DIRECTIONS, KINDS
from service.criteria.judge import Criterion
from service.criteria.metrics import definitions
from service.effects import registry

AUDITED_FIELDS = ("started_at", "target_date", "baseline_weeks", "to_platform", "design")
"""Migration fields whose change after the start moves the goalposts."""


def known_metrics(session: Session) -> tuple[str, ...]:
    """Every metric a criterion may name: the registry's and the declared ones (Frictionlog's and users')."""
    return registry.keys() + tuple(row.name for row in definitions(session))


def check(criterion: Criterion, known: tuple[str, ...] | None = None) -> Criterion:
    """InvalidInput naming the field, for a metric neither registered nor in ``known`` (default: the
    registry's) or a bad direction/kind."""
    known_keys = registry.keys() if known is None else known
    if criterion.metric not in known_keys:
        names = ", ".join(known_keys)
        raise InvalidInput(f"unknown metric {criterion.metric!r}; known: {names}", field="metric")
    if criterion.direction not in DIRECTIONS:
        raise InvalidInput("direction is at_least or at_most", field="direction")
    if criterion.kind not in KINDS:
        raise InvalidInput("kind is relative or absolute", field="kind")
    if criterion.kind == "relative" and criterion.target <= -1:
        raise InvalidInput("a relative target is above -100 % (e.g. -0.3 for -30 %)", field="target")
    deadline = None if criterion.deadline is None else as_utc(criterion.deadline)
    return Criterion(criterion.metric, criterion.direction, criterion.kind, float(criterion.target), deadline)


def as_criterion(row: SuccessCriterion) -> Criterion:
    return Criterion(row.metric, row.direction, row.kind, row.target, row.deadline)  # type: ignore[arg-type]


def _json(criterion: Criterion) -> dict[str, Any]:
    deadline = None if criterion.deadline is None else as_utc(criterion.deadline).isoformat()
    return {**asdict(criterion), "deadline": deadline}


def get_migration(session: Session, migration_id: int) -> Migration:
    migration = session.get(Migration, migration_id)
    if migration is None:
        raise NotFound(f"no migration {migration_id}", field="migration_id")
    return migration


def find_migration(session: Session, name: str) -> Migration:
    migration = session.exec(select(Migration).where(Migration.name == name)).first()
    if migration is None:
        raise NotFound(f"no migration named {name!r}", field="name")
    return migration


def criteria_of(session: Session, migration_id: int) -> list[SuccessCriterion]:
    statement = select(SuccessCriterion).where(SuccessCriterion.migration_id == migration_id)
    return list(session.exec(statement.order_by(col(SuccessCriterion.id))))


def changes_of(session: Session, migration_id: int) -> list[CriteriaChange]:
    statement = select(CriteriaChange).where(CriteriaChange.migration_id == migration_id)
    return list(session.exec(statement.order_by(col(CriteriaChange.changed_at), col(CriteriaChange.id))))


@dataclass(frozen=True, slots=True)
class Decided:
    """When a change was really decided and where that is written down (``--decided-at``, ``--decided-ref``)."""

    at: datetime
    ref: str | None = None


def earliest_start(session: Session, migration: Migration) -> datetime:
    """The earliest start this migration ever had: its stored one and every start its trail recorded. "After
    the start" is judged against it, so moving the start later cannot make a change look like planning."""
    assert migration.id is not None
    starts = [as_utc(migration.started_at)]
    for change in changes_of(session, migration.id):
        for side in (change.before, change.after):
            if side and isinstance(side.get("started_at"), str):
                starts.append(as_utc(datetime.fromisoformat(side["started_at"])))
    return min(starts)


@dataclass(frozen=True, slots=True)
class _Trail:
    """What every trail entry of one edit shares: the migration, who, when it is recorded (``now``), the
    earliest start to judge "after the start" by, and ``decided``: when it was really decided, as the recorder
    says. "After the start" is still judged by when it is recorded, so a backdated decision is shown as such,
    never as set in advance."""

    session: Session
    migration: Migration
    by: str
    now: datetime
    started: datetime
    decided: Decided | None = None

    def record(self, subject: str, action: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        assert self.migration.id is not None
        self.session.add(
            CriteriaChange(
                migration_id=self.migration.id,
                subject=subject,
                action=action,
                before=before,
                after=after,
                changed_by=self.by,
                changed_at=self.now,
                after_start=self.now >= self.started,
                decided_at=self.decided.at if self.decided else None,
                decided_ref=self.decided.ref if self.decided else None,
            )
        )


def _apply(trail: _Trail, wanted: Iterable[Criterion]) -> None:
    """Make the migration's criteria exactly ``wanted`` (one per metric), recording each difference."""
    session, migration, now = trail.session, trail.migration, trail.now
    assert migration.id is not None
    rows = {row.metric: row for row in criteria_of(session, migration.id)}
    targets: dict[str, Criterion] = {}
    known = known_metrics(session)
    for criterion in wanted:
        criterion = check(criterion, known)
        if criterion.metric in targets:
            raise InvalidInput(f"two criteria for {criterion.metric!r}", field="criteria")
        targets[criterion.metric] = criterion
    for metric, row in rows.items():
        if metric not in targets:
            trail.record(metric, "removed", _json(as_criterion(row)), None)
            session.delete(row)
    for metric, criterion in targets.items():
        existing = rows.get(metric)
        if existing is None:
            session.add(
                SuccessCriterion(
                    migration_id=migration.id,
                    metric=metric,
                    direction=criterion.direction,
                    kind=criterion.kind,
                    target=criterion.target,
                    deadline=criterion.deadline,
                    created_at=now,
                    updated_at=now,
                )
            )
            trail.record(metric, "created", None, _json(criterion))
        elif _json(as_criterion(existing)) != _json(criterion):
            before = _json(as_criterion(existing))
            existing.direction, existing.kind, existing.target = criterion.direction, criterion.kind, criterion.target
            existing.deadline, existing.updated_at = criterion.deadline, now
            session.add(existing)
            trail.record(metric, "updated", before, _json(criterion))


def set_criteria(
    session: Session, migration_id: int, criteria: Iterable[Criterion], *, by: str, decided: Decided | None = None
) -> list[SuccessCriterion]:
    """Replace the migration's criteria with ``criteria``; each difference is recorded (with ``decided``,
    when it was really decided). Commits."""
    migration = get_migration(session, migration_id)
    if decided is not None and decided.at > utcnow():
        raise InvalidInput("decided_at is in the future", field="decided_at")
    trail = _Trail(session, migration, by, utcnow(), earliest_start(session, migration), decided)
    _apply(trail, criteria)
    session.commit()
    return criteria_of(session, migration_id)


def put_criterion(
    session: Session, migration_id: int, criterion: Criterion, *, by: str, decided: Decided | None = None
) -> list[SuccessCriterion]:
    """Add or change one criterion, keeping the others. Commits."""
    rows = criteria_of(session, migration_id)
    kept = [as_criterion(row) for row in rows if row.metric != criterion.metric]
    return set_criteria(session, migration_id, [*kept, criterion], by=by, decided=decided)


def remove_criterion(session: Session, migration_id: int, metric: str, *, by: str) -> list[SuccessCriterion]:
    rows = criteria_of(session, migration_id)
    if metric not in {row.metric for row in rows}:
        raise NotFound(f"no criterion on {metric!r}", field="metric")
    return set_criteria(session, migration_id, [as_criterion(r) for r in rows if r.metric != metric], by=by)


def update_migration(
    session: Session,
    migration_id: int,
    *,
    fields: Mapping[str, Any],
    criteria: Iterable[Criterion] | None,
    by: str,
) -> Migration:
    """PATCH: change the given fields (and, when given, replace the criteria). Commits."""
    migration = get_migration(session, migration_id)
    now = utcnow()
    name = fields.get("name")
    taken = name is not None and name != migration.name
    if taken and session.exec(select(Migration.id).where(Migration.name == name)).first() is not None:
        raise Conflict(f"a migration named {name!r} exists already", field="name")
    started = earliest_start(session, migration)  # before this change: a PATCH cannot move its own goalpost
    before = {key: _plain(getattr(migration, key)) for key in AUDITED_FIELDS}
    for key, value in fields.items():
        setattr(migration, key, value)
    started = min(started, as_utc(migration.started_at))
    after = {key: _plain(getattr(migration, key)) for key in AUDITED_FIELDS}
    trail = _Trail(session, migration, by, now, started)
    if before != after:
        changed = [key for key in AUDITED_FIELDS if before[key] != after[key]]
        trail.record("migration", "updated", {k: before[k] for k in changed}, {k: after[k] for k in changed})
    session.add(migration)
    if criteria is not None:
        _apply(trail, criteria)
    session.commit()
    session.refresh(migration)
    return migration


def _plain(value: Any) -> Any:
    return as_utc(value).isoformat() if isinstance(value, datetime) else value


def delete_migration(session: Session, migration_id: int) -> None:
    """The migration, its criteria and their history, while it has not started. Once it has, its trail is
    the record of what was promised: deleting it is refused (Conflict). Services and their platform history
    stay. Commits."""
    migration = get_migration(session, migration_id)
    if utcnow() >= earliest_start(session, migration):
        raise Conflict(
            f"migration {migration.name!r} has started: its criteria and their trail are kept (edit it instead)",
            field="migration",
        )
    session.exec(delete(CriteriaChange).where(col(CriteriaChange.migration_id) == migration_id))
    session.exec(delete(SuccessCriterion).where(col(SuccessCriterion.migration_id) == migration_id))
    session.exec(delete(Migration).where(col(Migration.id) == migration_id))
    session.commit()
