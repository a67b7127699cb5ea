"""User-declared metrics, the database side: any ``measurement`` name becomes a metric the effects, the
criteria and the digest judge like the built-in ones, once its direction, unit and scale are declared
(``PUT /api/v1/metrics/{name}``, ``frictionlog metrics define``). Functions here commit.

Measurements Frictionlog itself produces are declared here once (``DECLARED``: the weekly pulse's hours),
so they are judged from the first answer on, with no user step, and nobody can re-declare them the wrong
way round."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, col, select

from service.core.errors import InvalidInput
from service.core.models import MetricDefinition
from service.core.timeutil import utcnow
from service.core.vocab import EFFECT_SCALES
from service.effects import registry
from service.effects.panel import PanelMetric
from service.figures.pulse import compute as pulse

NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
DIRECTIONS = {"higher": True, "lower": False}
"""``direction``: which way is better."""


@dataclass(frozen=True, slots=True)
class Declared:
    """A measurement Frictionlog produces itself, declared in code: the same words a user would PUT."""

    name: str
    label: str
    unit: str
    direction: str
    scale: str

    def row(self) -> MetricDefinition:
        return MetricDefinition(
            name=self.name,
            label=self.label,
            unit=self.unit,
            higher_is_better=DIRECTIONS[self.direction],
            effect_scale=self.scale,
            defined_by=BY_FRICTIONLOG,
        )


BY_FRICTIONLOG = "frictionlog"
DECLARED: tuple[Declared, ...] = (
    Declared(pulse.METRIC, "Hours lost to infrastructure (pulse)", "hours", "lower", "ratio"),
)
"""The weekly pulse's mean hours per service-week (``service.figures.pulse``): fewer is better, and a
ratio scale (hours are positive amounts: a change reads as a percentage). Its response rate is not a judged
outcome: it decides which weeks count (``service.figures.pulse.compute.counted``)."""


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
    if name in {d.name for d in DECLARED}:
        raise InvalidInput(f"{name!r} is declared by Frictionlog; its definition is fixed", field="name")
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
    """The declared metrics: Frictionlog's own (``DECLARED``, never stored) and the users', by name."""
    stored = {row.name: row for row in session.exec(select(MetricDefinition).order_by(col(MetricDefinition.name)))}
    own = {d.name: d.row() for d in DECLARED}
    return [own.get(name) or stored[name] for name in sorted(stored.keys() | own.keys())]


def user_metrics(session: Session) -> tuple[PanelMetric, ...]:
    """Every declared metric, as the effects judge it."""
    return tuple(
        registry.user_metric(
            row.name,
            label=row.label,
            unit=row.unit,
            higher_is_better=row.higher_is_better,
            effect_scale="additive" if row.effect_scale == "additive" else "ratio",
            build=registry.DECLARED_BUILDERS.get(row.name) if row.defined_by == BY_FRICTIONLOG else None,
        )
        for row in definitions(session)
    )
