"""The service catalogue and migrations: who owns a service, and which platform it ran on when."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import AfterValidator, BaseModel, Field
from sqlmodel import Session

from service.app.api.auth import require_scope
from service.app.api.deps import DbSession, WriteSession
from service.app.api.formats import Format, csv_response
from service.app.api.principal import Principal
from service.core.errors import InvalidInput
from service.core.models import Migration
from service.core.timeutil import as_utc
from service.criteria import service as criteria
from service.criteria.judge import Criterion
from service.digest.models import CriteriaTrailEntry
from service.figures import catalogue

router = APIRouter(prefix="/api/v1", tags=["catalogue"])

AwareUTC = Annotated[datetime, AfterValidator(as_utc)]
Slug = Annotated[str, Path(max_length=256, description="Normalised by service.core.identity; 422 if it is no slug")]
MigrationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


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


class CriterionIn(BaseModel):
    """A success criterion: ``deploys`` ``at_least`` ``+1.0`` (relative: +100 % against the counterfactual),
    or ``lead_time`` ``at_most`` ``24`` with ``kind: absolute`` (in the unit the digest shows)."""

    metric: str = Field(min_length=1, max_length=64, description="A key of service.effects.registry.METRICS")
    direction: Literal["at_least", "at_most"]
    kind: Literal["relative", "absolute"] = "relative"
    target: float = Field(
        allow_inf_nan=False, description="Relative: a fraction (1.0 = +100 %, -0.3 = -30 %). Absolute: a value."
    )
    deadline: AwareUTC | None = Field(default=None, description="None: the migration's target_date")

    def spec(self) -> Criterion:
        return Criterion(self.metric, self.direction, self.kind, self.target, self.deadline)


class CriteriaChangeOut(CriteriaTrailEntry):
    after_start: bool
    decided_at: datetime | None = Field(default=None, description="When it was really decided, as recorded")
    decided_ref: str | None = None


class DesignIn(BaseModel):
    """How the migration's effects are estimated (docs/metrics.md); a field left out keeps the default."""

    base_weeks: int | None = Field(
        default=None, ge=1, le=26, description="A service's base: its last N weeks with data"
    )
    min_pre_weeks: int | None = Field(default=None, ge=1, le=26, description="Weeks with data a moved service needs")
    pre_weeks: int | None = Field(default=None, ge=2, le=26, description="Weeks with data the pre-move drift needs")
    controls: Literal["not_yet_treated", "never_treated"] | None = None
    scale: Literal["ratio", "additive"] | None = Field(default=None, description="None: each metric's own")


class MigrationIn(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    from_platform: str = Field(min_length=1, max_length=64)
    to_platform: str = Field(min_length=1, max_length=64)
    started_at: AwareUTC
    target_date: AwareUTC | None = None
    baseline_weeks: int = Field(default=8, ge=1, le=52)
    criteria: list[CriterionIn] = Field(default_factory=list, max_length=50)


class MigrationPatch(BaseModel):
    """Only the fields sent change. ``criteria``, when sent, replaces the whole list; every change after
    the migration started is recorded with the token's name and the time."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    from_platform: str | None = Field(default=None, min_length=1, max_length=64)
    to_platform: str | None = Field(default=None, min_length=1, max_length=64)
    started_at: AwareUTC | None = None
    target_date: AwareUTC | None = None
    baseline_weeks: int | None = Field(default=None, ge=1, le=52)
    criteria: list[CriterionIn] | None = Field(default=None, max_length=50)
    design: DesignIn | None = None


class MigrationOut(BaseModel):
    id: int
    name: str
    from_platform: str
    to_platform: str
    started_at: datetime
    target_date: datetime | None
    baseline_weeks: int
    criteria: list[CriterionIn]
    changes: list[CriteriaChangeOut]
    design: dict[str, Any] | None = None


def _migration_out(session: Session, migration: Migration) -> MigrationOut:
    assert migration.id is not None
    # The row's columns, then the criteria and their changes: a later key wins, so a column of the same
    # name could never clash with them (keyword arguments would raise).
    return MigrationOut.model_validate(
        {
            **migration.model_dump(),
            "criteria": [
                CriterionIn.model_validate(row, from_attributes=True)
                for row in criteria.criteria_of(session, migration.id)
            ],
            "changes": [
                CriteriaChangeOut.model_validate(row, from_attributes=True)
                for row in criteria.changes_of(session, migration.id)
            ],
        }
    )


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
    format: Format = "json",  # the query parameter's name
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


Admin = Annotated[Principal, Depends(require_scope("admin"))]


@router.post("/migrations", status_code=201)
def create_migration(body: MigrationIn, session: WriteSession, principal: Admin) -> MigrationOut:
    """A migration, with the success criteria it will be judged on (set them before it starts)."""
    known = criteria.known_metrics(session)
    for item in body.criteria:
        criteria.check(item.spec(), known)
    migration = catalogue.create_migration(session, **body.model_dump(exclude={"criteria"}))
    assert migration.id is not None
    if body.criteria:
        criteria.set_criteria(session, migration.id, [c.spec() for c in body.criteria], by=principal.name)
    return _migration_out(session, migration)


@router.get("/migrations", dependencies=[Depends(require_scope("read"))], response_model=list[MigrationOut])
def list_migrations(
    session: DbSession,
    format: Format = "json",  # the query parameter's name
) -> list[MigrationOut] | Response:
    out = [_migration_out(session, m) for m in catalogue.list_migrations(session)]
    return csv_response(out, MigrationOut, "migrations") if format == "csv" else out


@router.patch("/migrations/{migration_id}")
def patch_migration(
    migration_id: MigrationId, body: MigrationPatch, session: WriteSession, principal: Admin
) -> MigrationOut:
    fields = body.model_dump(exclude_unset=True, exclude={"criteria", "design"})
    if "design" in body.model_fields_set:
        fields["design"] = None if body.design is None else body.design.model_dump(exclude_none=True) or None
    for key in ("name", "from_platform", "to_platform", "started_at", "baseline_weeks"):
        if key in fields and fields[key] is None:
            raise InvalidInput(f"{key} cannot be null", field=key)
    specs = None if body.criteria is None else [c.spec() for c in body.criteria]
    migration = criteria.update_migration(session, migration_id, fields=fields, criteria=specs, by=principal.name)
    return _migration_out(session, migration)


@router.delete("/migrations/{migration_id}", status_code=204, dependencies=[Depends(require_scope("admin"))])
def delete_migration(migration_id: MigrationId, session: WriteSession) -> Response:
    """The migration, its criteria and their history; services keep their platform history."""
    criteria.delete_migration(session, migration_id)
    return Response(status_code=204)
