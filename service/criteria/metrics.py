"""User-declared metrics, the database side: any ``measurement`` name becomes a metric the effects, the
criteria and the digest judge like the built-in ones, once its direction, unit and scale are declared
(``PUT /api/v1/metrics/{name}``, ``frictionlog metrics define``). Functions here commit."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from service.core.errors import InvalidInput
from service.core.models import MetricDefinition
from service.core.timeutil import utcnow
from service.core.vocab import EFFECT_SCALES
from service.effects import registry
from service.effects.panel import PanelMetric

NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
DIRECTIONS = {"higher": True, "lower": False}
"""``direction``: which way is better."""


def define_metric(
    session: Session,
    *,
    name: str,
    direction: str,
    unit: str,
    scale: str = "ratio",
    label: str | None = None,
    by: str,
) -> MetricDefinition:
    """Declare (or re-declare) the measurement ``name`` as a judged metric. InvalidInput naming the field: a
    name that is no measurement name or is a built-in metric's key, a direction other than higher/lower, a
    scale other than ratio/additive, an empty or over-long unit or label."""
    if not NAME.match(name):
        raise InvalidInput("a metric name is lower-case letters, digits, '_', '.', '-' (≤ 64)", field="name")
    if name in set(registry.keys()):
        raise InvalidInput(f"{name!r} is a built-in metric; its definition is fixed", field="name")
    if direction not in DIRECTIONS:
        raise InvalidInput("direction is higher or lower (which way is better)", field="direction")
    if scale not in EFFECT_SCALES:
        raise InvalidInput("scale is ratio or additive", field="scale")
    if not 0 < len(unit.strip()) <= 32:
        raise InvalidInput("unit is 1 to 32 characters", field="unit")
    shown = (label or name.replace("_", " ").capitalize()).strip()
    if not 0 < len(shown) <= 128:
        raise InvalidInput("label is 1 to 128 characters", field="label")
    row = session.get(MetricDefinition, name) or MetricDefinition(
        name=name, label=shown, unit=unit, higher_is_better=True, defined_by=by
    )
    row.label, row.unit, row.higher_is_better = shown, unit.strip(), DIRECTIONS[direction]
    row.effect_scale, row.defined_by, row.updated_at = scale, by, utcnow()
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def definitions(session: Session) -> list[MetricDefinition]:
    return list(session.exec(select(MetricDefinition).order_by(col(MetricDefinition.name))))


def user_metrics(session: Session) -> tuple[PanelMetric, ...]:
    """Every declared metric, as the effects judge it."""
    return tuple(
        registry.user_metric(
            row.name,
            label=row.label,
            unit=row.unit,
            higher_is_better=row.higher_is_better,
            effect_scale="additive" if row.effect_scale == "additive" else "ratio",
        )
        for row in definitions(session)
    )
