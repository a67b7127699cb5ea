"""A migration's effect on one metric, as computed: ``GET /api/v1/migrations/{name}/effects?metric=M``.
JSON: the effect (level and relative, intervals, counterfactual, scale, sensitivity bound, breakdown,
caveat, design) with its group-time table; ``format=csv``: the group-time table (cohort × week).
And a metric a user measures, declared: ``PUT /api/v1/metrics/{name}`` (direction, unit, scale)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from service.app.api.auth import require_scope
from service.app.api.deps import DbSession, WriteSession
from service.app.api.formats import Format, csv_response
from service.app.api.principal import Principal
from service.app.api.state import app_state
from service.criteria import metrics as user_metrics
from service.digest.effects_view import migration_effect
from service.digest.models import BeforeAfter
from service.effects.result import GroupTimeCell

router = APIRouter(prefix="/api/v1", tags=["effects"])

MigrationName = Annotated[str, Path(min_length=1, max_length=128)]
MetricKey = Annotated[
    str, Query(min_length=1, max_length=128, description="A metric key (GET /api/v1/metrics lists them)")
]


@router.get(
    "/migrations/{name}/effects",
    dependencies=[Depends(require_scope("read"))],
    response_model=BeforeAfter,
)
def effects(
    name: MigrationName, metric: MetricKey, session: DbSession, request: Request, format: Format = "json"
) -> BeforeAfter | Response:
    effect = migration_effect(session, app_state(request).settings, name=name, metric=metric)
    if format == "csv":
        return csv_response(effect.group_time, GroupTimeCell, f"effects-{effect.metric}")
    return effect


class MetricDefinitionIn(BaseModel):
    direction: str = Field(description="higher or lower: which way is better")
    unit: str = Field(max_length=32, description="Shown with its values: seconds, minutes, per week")
    scale: str = Field(default="ratio", description="ratio (counts, positive amounts) or additive")
    label: str | None = Field(default=None, max_length=128)


class MetricDefinitionOut(BaseModel):
    name: str
    label: str
    unit: str
    direction: str
    scale: str
    defined_by: str


@router.put("/metrics/{name}")
def define_metric(
    name: Annotated[str, Path(max_length=64)],
    body: MetricDefinitionIn,
    session: WriteSession,
    principal: Annotated[Principal, Depends(require_scope("admin"))],
) -> MetricDefinitionOut:
    """Judge the measurement ``name`` like the built-in metrics: the effects, criteria and digest read it."""
    row = user_metrics.define_metric(
        session,
        name=name,
        direction=body.direction,
        unit=body.unit,
        scale=body.scale,
        label=body.label,
        by=principal.name,
    )
    return MetricDefinitionOut(
        name=row.name,
        label=row.label,
        unit=row.unit,
        direction="higher" if row.higher_is_better else "lower",
        scale=row.effect_scale,
        defined_by=row.defined_by,
    )
