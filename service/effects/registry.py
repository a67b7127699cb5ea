"""The metrics the migration's effects are judged on: the digest, success criteria and the web app iterate
``METRICS``. A metric's words (key, label, unit, direction, scale) are its entry in ``service.core.vocab``;
here it gets its pure per-service weekly builder (the panel contract: ``service.effects.panel``)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from service.core import vocab
from service.core.vocab import EffectScale
from service.effects import dora_panels, resource_panels
from service.effects.panel import PanelInputs, PanelMetric
from service.figures.pulse import compute as pulse

BUILDERS = {
    "deploys": dora_panels.deploys,
    "lead_time": dora_panels.lead_time_hours,
    "change_failure_rate": dora_panels.change_failure_rate,
    "time_to_restore": dora_panels.time_to_restore_hours,
    "incidents": dora_panels.incidents,
    "compute_cost": resource_panels.compute_cost,
    "gpu_utilisation": resource_panels.gpu_utilisation,
    "cold_start_p95": resource_panels.cold_start_p95,
    "time_to_ship": resource_panels.time_to_ship,
    "support_tickets": resource_panels.support_tickets,
    "infra_incidents": resource_panels.infra_incidents,
    "app_incidents": resource_panels.app_incidents,
}
"""Each metric's per-service weekly builder (the panel contract: ``service.effects.panel``)."""

METRICS: tuple[PanelMetric, ...] = tuple(PanelMetric.of(m.key, BUILDERS[m.key]) for m in vocab.METRICS)


def metric(key: str) -> PanelMetric:
    """The registered metric ``key``; KeyError names the known ones."""
    for candidate in METRICS:
        if candidate.key == key:
            return candidate
    raise KeyError(f"unknown metric {key!r}; known: {', '.join(m.key for m in METRICS)}")


def keys() -> tuple[str, ...]:
    return tuple(m.key for m in METRICS)


def user_metric(
    name: str,
    *,
    label: str,
    unit: str,
    higher_is_better: bool,
    effect_scale: EffectScale,
    build: Callable[[PanelInputs], pd.DataFrame] | None = None,
) -> PanelMetric:
    """A user-declared metric (any ``measurement`` name): judged like the built-in ones, from the weekly
    mean of its values per service (``resource_panels.measured``), or ``build`` (one Frictionlog declares
    with its own rule: the pulse, ``DECLARED_BUILDERS``)."""
    return PanelMetric(
        key=name,
        label=label,
        unit=unit,
        higher_is_better=higher_is_better,
        chart_label=label,
        effect_scale=effect_scale,
        build=build or resource_panels.measured(name),
    )


DECLARED_BUILDERS: dict[str, Callable[[PanelInputs], pd.DataFrame]] = {
    pulse.METRIC: resource_panels.pulse_hours,
}
"""Metrics Frictionlog declares itself (``service.criteria.metrics.DECLARED``) whose panel has a rule of its
own: the pulse leaves out its low-response weeks."""
