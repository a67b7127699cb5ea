"""The service catalogue and migrations: who owns a service, and which platform it ran on when."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import AfterValidator, BaseModel, Field
from sqlmodel import Session

from service import catalogue
from service.api.auth import require_scope
from service.api.deps import DbSession, WriteSession
from service.api.formats import Format, csv_response
from service.timeutil import as_utc

router = APIRouter(prefix="/api/v1", tags=["catalogue"])

AwareUTC = Annotated[datetime, AfterValidator(as_utc)]
Slug = Annotated[str, Path(max_length=256, description="Normalised by service.identity; 422 if it is no slug")]


class PlatformPeriodIn(BaseModel):
    platform: str = Field(min_length=1, max_length=64)
    effective_from: AwareUTC


class ServiceIn(BaseModel):
    team: str | None = Field(default=None, max_length=128)
    tier: str | None = Field(default=None, max_length=32)
    platforms: list[PlatformPeriodIn] | None = Field(
        default=None, description="The whole platform history; omitted leaves it unchanged"
    )


class ServiceOut(BaseModel):
    slug: str
    team: str | None
    tier: str | None
    platforms: list[PlatformPeriodIn]


class MigrationIn(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    from_platform: str = Field(min_length=1, max_length=64)
    to_platform: str = Field(min_length=1, max_length=64)
    started_at: AwareUTC
    target_date: AwareUTC | None = None
    baseline_weeks: int = Field(default=8, ge=1, le=52)


class MigrationOut(MigrationIn):
    id: int


def _service_out(session: Session, slug: str, team: str | None, tier: str | None) -> ServiceOut:
    history = catalogue.platform_history(session, slug)
    return ServiceOut(
        slug=slug,
        team=team,
        tier=tier,
        platforms=[PlatformPeriodIn(platform=p.platform, effective_from=p.effective_from) for p in history],
    )


@router.put("/services/{slug}", dependencies=[Depends(require_scope("admin"))])
def put_service(slug: Slug, body: ServiceIn, session: WriteSession) -> ServiceOut:
    """Create or replace a service; its events are re-labelled with the platform of their time."""
    periods = None
    if body.platforms is not None:
        periods = [catalogue.PlatformPeriod(p.platform, p.effective_from) for p in body.platforms]
    service = catalogue.put_service(
        session, catalogue.ServiceSpec(slug=slug, team=body.team, tier=body.tier, platforms=periods)
    )
    return _service_out(session, service.slug, service.team, service.tier)


@router.get("/services", dependencies=[Depends(require_scope("read"))], response_model=list[ServiceOut])
def list_services(
    session: DbSession,
    format: Format = "json",  # noqa: A002  (the query parameter's name)
) -> list[ServiceOut] | Response:
    out = [_service_out(session, s.slug, s.team, s.tier) for s in catalogue.list_services(session)]
    return csv_response(out, ServiceOut, "services") if format == "csv" else out


class AliasIn(BaseModel):
    alias: str = Field(min_length=1, max_length=256, description="The old (renamed or merged) name")


class AliasOut(BaseModel):
    alias: str
    service: str


class AliasPut(AliasOut):
    relabelled: int = Field(description="Stored events moved from the old name to the service by this call")


@router.put("/services/{slug}/aliases", dependencies=[Depends(require_scope("admin"))])
def put_alias(slug: Slug, body: AliasIn, session: WriteSession) -> AliasPut:
    """Make ``alias`` an old name of this service: its events (stored and future) count for the service."""
    result = catalogue.put_alias(session, alias=body.alias, service=slug)
    return AliasPut(alias=result.alias, service=result.service, relabelled=result.relabelled)


@router.get("/aliases", dependencies=[Depends(require_scope("read"))])
def list_aliases(session: DbSession) -> list[AliasOut]:
    return [AliasOut(alias=a.alias, service=a.service) for a in catalogue.list_aliases(session)]


@router.post("/migrations", status_code=201, dependencies=[Depends(require_scope("admin"))])
def create_migration(body: MigrationIn, session: WriteSession) -> MigrationOut:
    migration = catalogue.create_migration(session, **body.model_dump())
    return MigrationOut.model_validate(migration, from_attributes=True)


@router.get("/migrations", dependencies=[Depends(require_scope("read"))], response_model=list[MigrationOut])
def list_migrations(
    session: DbSession,
    format: Format = "json",  # noqa: A002  (the query parameter's name)
) -> list[MigrationOut] | Response:
    out = [MigrationOut.model_validate(m, from_attributes=True) for m in catalogue.list_migrations(session)]
    return csv_response(out, MigrationOut, "migrations") if format == "csv" else out
