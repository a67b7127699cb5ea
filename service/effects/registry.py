"""The one list of metrics the migration's effects are judged on: the digest, success criteria and the web
app iterate ``METRICS``. Adding a metric is one entry here plus its pure per-service weekly builder
(the panel contract: ``service.effects.panel``)."""

from __future__ import annotations

from service.effects import dora_panels, resource_panels
from service.effects.panel import PanelMetric

METRICS: tuple[PanelMetric, ...] = (
    PanelMetric("deploys", "Deploys per week", "per week", True, dora_panels.deploys),
    PanelMetric("lead_time", "Lead time", "hours", False, dora_panels.lead_time_hours),
    PanelMetric("change_failure_rate", "Change failure rate", "%", False, dora_panels.change_failure_rate, scale=100),
    PanelMetric("time_to_restore", "Time to restore", "hours", False, dora_panels.time_to_restore_hours),
    PanelMetric("incidents", "Incidents per week", "count", False, dora_panels.incidents),
    PanelMetric("compute_cost", "Compute cost per service-week", "per week", False, resource_panels.compute_cost),
    PanelMetric("gpu_utilisation", "GPU utilisation", "%", True, resource_panels.gpu_utilisation, scale=100),
    PanelMetric("cold_start_p95", "Cold-start p95", "seconds", False, resource_panels.cold_start_p95),
    PanelMetric("time_to_ship", "Time to ship a feature", "days", False, resource_panels.time_to_ship),
    PanelMetric(
        "support_tickets", "Infrastructure support tickets per week", "count", False, resource_panels.support_tickets
    ),
    PanelMetric(
        "infra_incidents", "Infrastructure-related incidents per week", "count", False, resource_panels.infra_incidents
    ),
    PanelMetric("app_incidents", "Application incidents per week", "count", False, resource_panels.app_incidents),
)


def metric(key: str) -> PanelMetric:
    """The registered metric ``key``; KeyError names the known ones."""
    for candidate in METRICS:
        if candidate.key == key:
            return candidate
    raise KeyError(f"unknown metric {key!r}; known: {', '.join(m.key for m in METRICS)}")


def keys() -> tuple[str, ...]:
    return tuple(m.key for m in METRICS)
