"""A migration's effect on one metric, as computed: ``GET /api/v1/migrations/{name}/effects?metric=M``.
JSON: the effect (level and relative, intervals, counterfactual, scale, sensitivity bound, breakdown,
caveat, design) with its group-time table; ``format=csv``: the group-time table (cohort × week)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from service.app.api.auth import require_scope
from service.app.api.deps import DbSession
from service.app.api.formats import Format, csv_response
from service.app.api.state import app_state
from service.digest.effects_view import migration_effect
from service.digest.models import BeforeAfter, GroupTimeCell

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
