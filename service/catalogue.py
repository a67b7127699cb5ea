"""The service catalogue, platform history and migrations: who owns what, and where it runs when."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import delete
from sqlmodel import Session, col, select

from service.cost.relabel import relabel_cost_platforms
from service.db import upsert_insert
from service.errors import Conflict, InvalidInput
from service.models import Deployment, Incident, Migration, PlatformAssignment, RollupDirty, Service
from service.timeutil import parse_timestamp

ALL_WEEKS = datetime(1970, 1, 5, tzinfo=UTC)
"""The rollup marker for "every week of this service" (see service.metrics.rollups_db)."""


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


def put_service(session: Session, spec: ServiceSpec) -> Service:
    """Create or update a service; a given platform history replaces the old one and re-labels its events."""
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
    session.exec(
        upsert_insert(session, RollupDirty).values(service=service, week_start=ALL_WEEKS).on_conflict_do_nothing()
    )


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

    CSV columns: ``slug,team,tier,platform,effective_from``; rows with the same slug add periods.
    """
    if fmt in ("yaml", "yml"):
        data = yaml.safe_load(text) or []
        if isinstance(data, dict):
            data = data.get("services", [])
        if not isinstance(data, list):
            raise InvalidInput("a YAML catalogue is a list of services (or {services: [...]})")
        return [_spec_from_mapping(item, index) for index, item in enumerate(data)]
    if fmt == "csv":
        specs: dict[str, ServiceSpec] = {}
        for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            slug = (row.get("slug") or "").strip()
            if not slug:
                raise InvalidInput(f"line {line}: slug is empty", field="slug")
            spec = specs.setdefault(slug, ServiceSpec(slug=slug, platforms=[]))
            spec.team = (row.get("team") or "").strip() or spec.team
            spec.tier = (row.get("tier") or "").strip() or spec.tier
            platform = (row.get("platform") or "").strip()
            if platform:
                moment = parse_timestamp(row.get("effective_from"), field=f"line {line}: effective_from")
                assert spec.platforms is not None
                spec.platforms.append(PlatformPeriod(platform=platform, effective_from=moment))
        return list(specs.values())
    raise InvalidInput(f"unknown catalogue format {fmt!r}: use .csv or .yaml")


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
    return ServiceSpec(slug=item["slug"], team=item.get("team"), tier=item.get("tier"), platforms=platforms)


def import_catalogue(session: Session, path: Path) -> int:
    specs = parse_catalogue(path.read_text(encoding="utf-8"), fmt=path.suffix.lstrip(".").lower())
    for spec in specs:
        put_service(session, spec)
    return len(specs)
