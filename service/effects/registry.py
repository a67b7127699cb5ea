"""The one list of metrics the migration's effects are judged on: the digest, success criteria and the web
app iterate ``METRICS``. Adding a metric is one entry here plus its pure per-service weekly builder
(the panel contract: ``service.effects.panel``)."""

from __future__ import annotations

from service.effects import dora_panels
from service.effects.panel import PanelMetric

METRICS: tuple[PanelMetric, ...] = (
    PanelMetric("deploys", "Deploys per week", "per week", True, dora_panels.deploys),
    PanelMetric("lead_time", "Lead time", "hours", False, dora_panels.lead_time_hours),
    PanelMetric("change_failure_rate", "Change failure rate", "%", False, dora_panels.change_failure_rate, scale=100),
    PanelMetric("time_to_restore", "Time to restore", "hours", False, dora_panels.time_to_restore_hours),
    PanelMetric("incidents", "Incidents per week", "count", False, dora_panels.incidents),
)


def metric(key: str) -> PanelMetric:
    """The registered metric ``key``; KeyError names the known ones."""
    for candidate in METRICS:
        if candidate.key == key:
            return candidate
    raise KeyError(f"unknown metric {key!r}; known: {', '.join(m.key for m in METRICS)}")


def keys() -> tuple[str, ...]:
    return tuple(m.key for m in METRICS)
