"""Apply cost and measurement records (generic form, OpenCost, Prometheus) to their tables.

Idempotent upserts keyed by (source, external_id): a re-sent event or a re-pulled window replaces its
rows' values instead of adding to them. The platform is the record's own, else the service's platform
in the catalogue at the period's start (the charge time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from service.core.db import execute_rows, upsert_insert
from service.core.marks import mark_dirty
from service.core.models import PlatformAssignment
from service.core.models.cost import CostLine, Measurement
from service.core.records import CostRecord, MeasurementRecord
from service.figures.catalogue import platform_at
from service.figures.cost.rollups_db import dirty_pairs

_COST_FIELDS = (
    "service",
    "platform",
    "platform_tagged",
    "category",
    "resource",
    "period_start",
    "period_end",
    "amount",
    "currency",
)
_MEASUREMENT_FIELDS = (
    "service",
    "platform",
    "platform_tagged",
    "metric",
    "value",
    "unit",
    "period_start",
    "period_end",
)


def _platform(record: CostRecord | MeasurementRecord, histories: Mapping[str, list[PlatformAssignment]]) -> Any:
    if record.platform:
        return record.platform
    return platform_at(histories.get(record.service or "", []), record.period_start)


def _upsert(
    session: Session, model: type[CostLine] | type[Measurement], fields: Sequence[str], rows: list[dict[str, Any]]
) -> None:
    """Insert ``rows``, or update ``fields`` of the row already stored under their (source, external_id)."""
    insert = upsert_insert(session, model)
    statement = insert.on_conflict_do_update(
        index_elements=["source", "external_id"], set_={name: insert.excluded[name] for name in fields}
    )
    execute_rows(session, statement, rows, key=("source", "external_id"))


def apply_cost_records(
    session: Session,
    costs: Sequence[CostRecord],
    measurements: Sequence[MeasurementRecord],
    histories: Mapping[str, list[PlatformAssignment]],
    *,
    tz: str,
) -> None:
    """Upsert the records and mark every (service, week) they touch for a rollup refresh.

    A record that moved (a corrected period or service) also leaves its old weeks stale: those are marked
    from the rows as they were before the upsert."""
    previous = _previous_spans(session, costs, measurements)
    cost_rows = [
        {
            "source": c.source,
            "external_id": c.external_id,
            "service": c.service,
            "platform": _platform(c, histories),
            "platform_tagged": c.platform,
            "category": c.category,
            "resource": c.resource,
            "period_start": c.period_start,
            "period_end": c.period_end,
            "amount": float(c.amount),
            "currency": c.currency,
        }
        for c in costs
    ]
    _upsert(session, CostLine, _COST_FIELDS, cost_rows)
    measurement_rows = [
        {
            "source": m.source,
            "external_id": m.external_id,
            "service": m.service,
            "platform": _platform(m, histories),
            "platform_tagged": m.platform,
            "metric": m.metric,
            "value": float(m.value),
            "unit": m.unit,
            "period_start": m.period_start,
            "period_end": m.period_end,
        }
        for m in measurements
    ]
    _upsert(session, Measurement, _MEASUREMENT_FIELDS, measurement_rows)
    spans: list[tuple[str | None, Any, Any]] = [(r.service, r.period_start, r.period_end) for r in costs]
    spans += [(r.service, r.period_start, r.period_end) for r in measurements]
    mark_dirty(session, dirty_pairs([*previous, *spans]), tz=tz)


def _previous_spans(
    session: Session, costs: Sequence[CostRecord], measurements: Sequence[MeasurementRecord]
) -> list[tuple[str | None, Any, Any]]:
    spans: list[tuple[str | None, Any, Any]] = []
    tables: list[tuple[Any, set[tuple[str, str]]]] = [
        (CostLine.__table__, {(r.source, r.external_id) for r in costs}),  # type: ignore[attr-defined]
        (Measurement.__table__, {(r.source, r.external_id) for r in measurements}),  # type: ignore[attr-defined]
    ]
    for table, keys in tables:
        if not keys:
            continue
        statement = select(table.c.service, table.c.period_start, table.c.period_end).where(
            table.c.source.in_({k[0] for k in keys}), table.c.external_id.in_({k[1] for k in keys})
        )
        spans += [(service, start, end) for service, start, end in session.connection().execute(statement)]
    return spans
