"""The service catalogue, platform history and migrations: who owns what, and where it runs when."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from service.core.aliases import canonical
from service.core.errors import Conflict, InvalidInput, NotFound
from service.core.identity import service_slug
from service.core.marks import mark_all_weeks
from service.core.models import (
    Change,
    Deployment,
    DeploymentChange,
    FrictionReport,
    Incident,
    Migration,
    PlatformAssignment,
    RollupDirty,
    Service,
    ServiceAlias,
    WeeklyRollup,
)
from service.core.timeutil import as_utc, parse_timestamp
from service.figures.relabel import relabel_cost_platforms


@dataclass(frozen=True, slots=True)
class PlatformPeriod:
    platform: str
    effective_from: datetime


@dataclass(slots=True)
class ServiceSpec:
    slug: str
    team: str | None = None
    tier: str | None = None
    platforms: list[PlatformPeriod] | None = field(default=None)
    """None leaves the platform history alone; a list replaces it."""
    aliases: list[str] = field(default_factory=list)
    """Old names (a rename, a merge) whose events count for this service (service.core.aliases)."""


def put_service(session: Session, spec: ServiceSpec) -> Service:
    """Create or update a service; a given platform history replaces the old one and re-labels its events."""
    spec.slug = service_slug(spec.slug, field="slug")
    service = session.get(Service, spec.slug)
    if service is None:
        service = Service(slug=spec.slug)
    service.team = spec.team
    service.tier = spec.tier
    session.add(service)
    session.flush()
    if spec.platforms is not None:
        froms = [period.effective_from for period in spec.platforms]
        if len(set(froms)) != len(froms):
            raise InvalidInput("two platform periods start at the same time", field="platforms")
        session.exec(delete(PlatformAssignment).where(col(PlatformAssignment.service) == spec.slug))
        for period in spec.platforms:
            session.add(
                PlatformAssignment(service=spec.slug, platform=period.platform, effective_from=period.effective_from)
            )
        session.flush()
        relabel_platforms(session, service=spec.slug)
    session.commit()
    session.refresh(service)
    return service


def platform_history(session: Session, service: str) -> list[PlatformAssignment]:
    return list(
        session.exec(
            select(PlatformAssignment)
            .where(PlatformAssignment.service == service)
            .order_by(col(PlatformAssignment.effective_from))
        )
    )


def followed_migration(session: Session) -> Migration | None:
    """The migration the digest, the web app and the criteria follow: the latest started."""
    return session.exec(select(Migration).order_by(col(Migration.started_at).desc())).first()


def migration_named(session: Session, name: str) -> Migration:
    """The migration called ``name``; NotFound naming it."""
    found = session.exec(select(Migration).where(Migration.name == name)).first()
    if found is None:
        raise NotFound(f"no migration named {name!r}", field="name")
    return found


def move_dates(session: Session, target: str, *, as_of: datetime) -> dict[str, datetime]:
    """When each service first ran on ``target`` (the move date), counting only periods in force by ``as_of``:
    a scheduled move that has not happened yet is not a move. The one rule for every reader of move dates."""
    moved: dict[str, datetime] = {}
    for period in session.exec(
        select(PlatformAssignment)
        .where(PlatformAssignment.platform == target, col(PlatformAssignment.effective_from) <= as_of)
        .order_by(col(PlatformAssignment.effective_from))
    ):
        moved.setdefault(period.service, period.effective_from)
    return moved


def platform_at(history: Sequence[PlatformAssignment], moment: datetime | None) -> str | None:
    """The platform in force at ``moment`` (history sorted by effective_from); None before the first."""
    if moment is None:
        return None
    current: str | None = None
    for period in history:
        if period.effective_from <= moment:
            current = period.platform
        else:
            break
    return current


def relabel_platforms(session: Session, *, service: str) -> None:
    """Recompute the platform of a service's deployments and incidents from its (new) history."""
    history = platform_history(session, service)
    for deployment in session.exec(select(Deployment).where(Deployment.service == service)):
        deployment.platform = platform_at(history, deployment.finished_at)
    for incident in session.exec(select(Incident).where(Incident.service == service)):
        incident.platform = platform_at(history, incident.started_at)
    relabel_cost_platforms(session, service=service, platform_at=lambda moment: platform_at(history, moment))
    mark_all_weeks(session, service)


@dataclass(frozen=True, slots=True)
class AliasResult:
    alias: str
    service: str
    relabelled: int
    """Stored rows (deployments, incidents, changes, friction reports) moved from the alias to the service."""


def create_migration(
    session: Session,
    *,
    name: str,
    from_platform: str,
    to_platform: str,
    started_at: datetime,
    target_date: datetime | None = None,
    baseline_weeks: int = 8,
) -> Migration:
    if session.exec(select(Migration.id).where(Migration.name == name)).first() is not None:
        raise Conflict(f"a migration named {name!r} exists already", field="name")
    migration = Migration(
        name=name,
        from_platform=from_platform,
        to_platform=to_platform,
        started_at=started_at,
        target_date=target_date,
        baseline_weeks=baseline_weeks,
    )
    session.add(migration)
    session.commit()
    session.refresh(migration)
    return migration


def list_services(session: Session) -> list[Service]:
    return list(session.exec(select(Service).order_by(col(Service.slug))))


def list_migrations(session: Session) -> list[Migration]:
    return list(session.exec(select(Migration).order_by(col(Migration.started_at))))


def parse_catalogue(text: str, *, fmt: str) -> list[ServiceSpec]:
    """Read a catalogue file: YAML (a list of services with ``platforms``) or CSV (a row per period).

    CSV columns: ``slug,team,tier,platform,effective_from[,aliases]``; rows with the same slug add
    periods; ``aliases`` holds old names separated by ``;`` or spaces. The format: docs/catalogue.md.
    """
    parser = _CATALOGUE_PARSERS.get(fmt)
    if parser is None:
        raise InvalidInput(f"unknown catalogue format {fmt!r}: use .csv or .yaml")
    return parser(text)


def _parse_yaml_catalogue(text: str) -> list[ServiceSpec]:
    data = yaml.safe_load(text) or []
    if isinstance(data, dict):
        data = data.get("services", [])
    if not isinstance(data, list):
        raise InvalidInput("a YAML catalogue is a list of services (or {services: [...]})")
    return [_spec_from_mapping(item, index) for index, item in enumerate(data)]


def _parse_csv_catalogue(text: str) -> list[ServiceSpec]:
    specs: dict[str, ServiceSpec] = {}
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        slug = _csv_slug(row, line)
        _add_csv_row(specs.setdefault(slug, ServiceSpec(slug=slug, platforms=[])), row, line)
    return list(specs.values())


def _csv_slug(row: dict[str, str | None], line: int) -> str:
    """The row's service slug; InvalidInput names the line when it is empty or no slug."""
    raw = (row.get("slug") or "").strip()
    if not raw:
        raise InvalidInput(f"line {line}: slug is empty", field="slug")
    try:
        return service_slug(raw, field="slug")
    except InvalidInput as exc:
        raise InvalidInput(f"line {line}: {exc.message}", field="slug") from None


def _add_csv_row(spec: ServiceSpec, row: dict[str, str | None], line: int) -> None:
    """One CSV row into its service's spec: a team or tier given replaces the earlier, new aliases are
    added, and a platform adds a period."""
    spec.team = (row.get("team") or "").strip() or spec.team
    spec.tier = (row.get("tier") or "").strip() or spec.tier
    spec.aliases += [a for a in (row.get("aliases") or "").replace(";", " ").split() if a not in spec.aliases]
    platform = (row.get("platform") or "").strip()
    if platform:
        moment = parse_timestamp(row.get("effective_from"), field=f"line {line}: effective_from")
        assert spec.platforms is not None
        spec.platforms.append(PlatformPeriod(platform=platform, effective_from=moment))


_CATALOGUE_PARSERS: dict[str, Callable[[str], list[ServiceSpec]]] = {
    "yaml": _parse_yaml_catalogue,
    "yml": _parse_yaml_catalogue,
    "csv": _parse_csv_catalogue,
}
"""A catalogue file's format (its suffix) → its parser."""


def _spec_from_mapping(item: object, index: int) -> ServiceSpec:
    if not isinstance(item, dict) or not isinstance(item.get("slug"), str) or not item["slug"]:
        raise InvalidInput(f"service #{index + 1} needs a slug", field="slug")
    platforms = None
    if item.get("platforms") is not None:
        platforms = [
            PlatformPeriod(
                platform=str(period["platform"]),
                effective_from=parse_timestamp(period.get("effective_from"), field="effective_from"),
            )
            for period in item["platforms"]
        ]
    try:
        slug = service_slug(item["slug"], field="slug")
    except InvalidInput as exc:
        raise InvalidInput(f"service #{index + 1}: {exc.message}", field="slug") from None
    names = item.get("aliases") or []
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise InvalidInput(f"service #{index + 1}: aliases is a list of names", field="aliases")
    return ServiceSpec(slug=slug, team=item.get("team"), tier=item.get("tier"), platforms=platforms, aliases=names)


def import_catalogue(session: Session, path: Path) -> int:
    specs = parse_catalogue(path.read_text(encoding="utf-8"), fmt=path.suffix.lstrip(".").lower())
    for spec in specs:
        put_service(session, spec)
        for alias in spec.aliases:
            put_alias(session, alias=alias, service=spec.slug)
    return len(specs)


def list_aliases(session: Session) -> list[ServiceAlias]:
    return list(session.exec(select(ServiceAlias).order_by(col(ServiceAlias.alias))))


def put_alias(session: Session, *, alias: str, service: str) -> AliasResult:
    """Make ``alias`` an old name of ``service`` (created if new) and move the alias's stored rows to it.

    The alias's own catalogue entry, platform history and rollups go: the service's history governs its
    events (they are re-labelled from it). Commits: the caller sees the result at once.
    """
    old = service_slug(alias, field="alias")
    new = canonical(session, service)
    if old == new:
        raise Conflict(f"{old!r} cannot be an alias of itself", field="alias")
    if session.exec(select(ServiceAlias.alias).where(ServiceAlias.service == old)).first() is not None:
        # Names that pointed at the old service now point at the new one (no chains).
        session.exec(update(ServiceAlias).where(col(ServiceAlias.service) == old).values(service=new))
    if session.get(Service, new) is None:
        session.add(Service(slug=new))
        session.flush()
    moved = _relabel(session, old=old, new=new)
    existing = session.get(ServiceAlias, old)
    if existing is None:
        session.add(ServiceAlias(alias=old, service=new))
    else:
        existing.service = new
    session.flush()
    _forget_service(session, old=old, new=new)
    mark_all_weeks(session, new)
    relabel_platforms(session, service=new)  # the moved events take the platforms of the new history
    session.commit()
    return AliasResult(alias=old, service=new, relabelled=moved)


def _relabel(session: Session, *, old: str, new: str) -> int:
    moved = 0
    for model in (Deployment, Incident, FrictionReport):
        result = session.exec(update(model).where(col(model.service) == old).values(service=new))
        moved += result.rowcount or 0
    # A commit both names already hold (a merge of two monorepo services) is kept once, under the new name.
    doubled = [
        row.id
        for row in session.exec(select(Change).where(col(Change.service) == old))
        if session.exec(
            select(Change.id).where(Change.service == new, Change.repository == row.repository, Change.sha == row.sha)
        ).first()
        is not None
    ]
    if doubled:
        session.exec(delete(DeploymentChange).where(col(DeploymentChange.change_id).in_(doubled)))
        session.exec(delete(Change).where(col(Change.id).in_(doubled)))
    result = session.exec(update(Change).where(col(Change.service) == old).values(service=new))
    return moved + (result.rowcount or 0) + len(doubled)


def _forget_service(session: Session, *, old: str, new: str) -> None:
    if not session.exec(select(PlatformAssignment.id).where(PlatformAssignment.service == new)).first():
        session.exec(update(PlatformAssignment).where(col(PlatformAssignment.service) == old).values(service=new))
    session.exec(delete(PlatformAssignment).where(col(PlatformAssignment.service) == old))
    session.exec(delete(WeeklyRollup).where(col(WeeklyRollup.service) == old))
    session.exec(delete(RollupDirty).where(col(RollupDirty.service) == old))
    service = session.get(Service, old)
    if service is not None:
        new_service = session.get(Service, new)
        if new_service is not None and new_service.team is None:
            new_service.team, new_service.tier = service.team, service.tier
        session.delete(service)
    session.flush()


def known_service(session: Session, name: str) -> str:
    """The catalogue slug a filter names (normalised, through aliases); NotFound naming it if unknown."""
    slug = canonical(session, name)
    if session.get(Service, slug) is None:
        raise NotFound(f"unknown service {name.strip()!r}", field="service")
    return slug


def teams(session: Session) -> list[str]:
    """Every team some service of the catalogue belongs to, sorted."""
    statement = select(Service.team).where(col(Service.team).is_not(None)).distinct()
    return sorted(str(team) for team in session.exec(statement).all() if team)


def known_team(session: Session, team: str) -> str:
    """A team some service of the catalogue belongs to; NotFound naming it if none does."""
    if session.exec(select(Service.slug).where(Service.team == team)).first() is None:
        raise NotFound(f"unknown team {team!r}: no service of the catalogue has it", field="team")
    return team


def platform_weeks(
    session: Session, *, platform: str, services: Sequence[str] | None, start: datetime, end: datetime
) -> float:
    """Weeks of ``[start, end)`` during which at least one of ``services`` (None: any) ran on ``platform``.

    The denominator of deployments per week under a platform filter: a service that moved to the platform
    halfway through the window deployed there for half of it, not for all of it."""
    statement = select(PlatformAssignment).order_by(
        col(PlatformAssignment.service), col(PlatformAssignment.effective_from)
    )
    if services is not None:
        statement = statement.where(col(PlatformAssignment.service).in_(list(services)))
    histories: dict[str, list[PlatformAssignment]] = {}
    for period in session.exec(statement):
        histories.setdefault(period.service, []).append(period)
    spans: list[tuple[datetime, datetime]] = []
    for history in histories.values():
        for period, following in zip(history, [*history[1:], None], strict=True):
            if period.platform != platform:
                continue
            low = max(as_utc(period.effective_from), start)
            high = min(as_utc(following.effective_from) if following else end, end)
            if low < high:
                spans.append((low, high))
    covered = timedelta(0)
    reach: datetime | None = None
    for low, high in sorted(spans):
        if reach is not None and low < reach:
            low = reach
        if low < high:
            covered += high - low
            reach = high
    return covered / timedelta(weeks=1)
