"""Per-service weekly panels of cost, utilisation, cold starts and work items for the effects estimator:
thin adapters from ``PanelInputs`` to the one builder of each metric (``service.figures.cost.panel`` and
``service.figures.work.panel``), so a definition lives in one place — the digest's effects judge the figures
``/metrics/weekly`` and ``/metrics/work`` show.

The frames (``PanelInputs.frames``), loaded by ``service.digest.build``:

- ``costs``: ``service.figures.cost.frames.cost_frame`` rows with ``amount`` already in the reporting currency and
  ``currency`` set to it (one currency: a mixed frame is refused by ``Currencies``, never summed).
- ``measurements``: ``service.figures.cost.frames.measurement_frame`` rows.
- ``work_samples``: ``service.figures.work.compute.time_to_ship`` rows; ``support_tickets``:
  ``service.figures.work.compute.support_tickets`` rows; ``classified_incidents``:
  ``service.figures.work.service.load_incidents`` rows (with their category).

A frame that is absent (a caller that loads only the DORA frames) gives an empty panel: "no data yet",
never an error. Every panel is put on the audience's (service × complete week) grid of the window; the
unfinished week is never a row because ``PanelInputs.end`` is the Monday after the last complete week.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pandas as pd

from service.effects.panel import PanelInputs, grid
from service.figures.cost import panel as cost_panel
from service.figures.cost.currency import Currencies
from service.figures.pulse import compute as pulse
from service.figures.work import panel as work_panel

COSTS = "costs"
FOCUS_GPU = "focus_gpu"
"""The FOCUS lines' GPU spend per (week, service, platform), by the GPU rule (``service.figures.cost.gpu``)."""
MEASUREMENTS = "measurements"
WORK_SAMPLES = "work_samples"
SUPPORT_TICKETS = "support_tickets"
CLASSIFIED_INCIDENTS = "classified_incidents"
FRAME_NAMES = (COSTS, MEASUREMENTS, WORK_SAMPLES, SUPPORT_TICKETS, CLASSIFIED_INCIDENTS)


def _on_grid(inputs: PanelInputs, panel: pd.DataFrame) -> pd.DataFrame:
    """The builder's rows on the window's grid: a (service, week) without a row has no value (weight 0)."""
    frame = grid(inputs.services, inputs.start, inputs.end)
    if not panel.empty:
        frame = frame.merge(
            panel[["service", "week_start", "value", "weight"]], on=["service", "week_start"], how="left"
        )
    else:
        frame = frame.assign(value=float("nan"), weight=0.0)
    frame["weight"] = frame["weight"].fillna(0.0)
    frame["value"] = frame["value"].where(frame["weight"] > 0)
    return frame.astype({"value": float, "weight": float})


def _bounds(inputs: PanelInputs) -> tuple[datetime, datetime]:
    zone = ZoneInfo(inputs.tz)
    return datetime.combine(inputs.start, time(0), zone), datetime.combine(inputs.end, time(0), zone)


def _frame(inputs: PanelInputs, name: str) -> pd.DataFrame | None:
    frame = inputs.frames.get(name)
    return frame if frame is not None and not frame.empty else None


def compute_cost(inputs: PanelInputs) -> pd.DataFrame:
    """Compute cost per service and week (``service.figures.cost.panel.compute_cost_panel``)."""
    costs = _frame(inputs, COSTS)
    if costs is None:
        return _on_grid(inputs, pd.DataFrame())
    currencies = Currencies(reporting=str(costs["currency"].iloc[0]).upper())
    built = cost_panel.compute_cost_panel(costs, tz=inputs.tz, currencies=currencies, complete_before=inputs.end)
    return _on_grid(inputs, built)


def gpu_utilisation(inputs: PanelInputs) -> pd.DataFrame:
    """GPU hours used ÷ provisioned, weighted by GPU hours provisioned (``gpu_utilisation_panel``)."""
    measurements = _frame(inputs, MEASUREMENTS)
    if measurements is None:
        return _on_grid(inputs, pd.DataFrame())
    return _on_grid(inputs, cost_panel.gpu_utilisation_panel(measurements, tz=inputs.tz, complete_before=inputs.end))


def cold_start_p95(inputs: PanelInputs) -> pd.DataFrame:
    """The week's 95th percentile of cold-start seconds (``cold_start_p95_panel``)."""
    measurements = _frame(inputs, MEASUREMENTS)
    if measurements is None:
        return _on_grid(inputs, pd.DataFrame())
    return _on_grid(inputs, cost_panel.cold_start_p95_panel(measurements, tz=inputs.tz, complete_before=inputs.end))


def measured(name: str) -> Callable[[PanelInputs], pd.DataFrame]:
    """The builder of a user-declared metric: the measurement ``name``'s weekly mean per service
    (``measurement_panel``), weighted by its number of values."""

    def build(inputs: PanelInputs) -> pd.DataFrame:
        measurements = _frame(inputs, MEASUREMENTS)
        if measurements is None:
            return _on_grid(inputs, pd.DataFrame())
        panel = cost_panel.measurement_panel(measurements, name, tz=inputs.tz, complete_before=inputs.end)
        return _on_grid(inputs, panel)

    return build


def pulse_hours(inputs: PanelInputs) -> pd.DataFrame:
    """The weekly pulse's mean hours (``measured``), its low-response service-weeks left out
    (``service.figures.pulse.compute.counted``): a mean few answered is shown, not judged."""
    measurements = _frame(inputs, MEASUREMENTS)
    if measurements is None:
        return _on_grid(inputs, pd.DataFrame())
    panel = cost_panel.measurement_panel(
        pulse.counted(measurements), pulse.METRIC, tz=inputs.tz, complete_before=inputs.end
    )
    return _on_grid(inputs, panel)


def _work(inputs: PanelInputs, key: str) -> pd.DataFrame:
    source, builder = work_panel.PANELS[key]
    name = {"samples": WORK_SAMPLES, "tickets": SUPPORT_TICKETS, "incidents": CLASSIFIED_INCIDENTS}[source]
    frame = _frame(inputs, name)
    if frame is None:
        return _on_grid(inputs, pd.DataFrame())
    start, end = _bounds(inputs)
    return _on_grid(inputs, builder(frame, tz=inputs.tz, start=start, end=end, services=inputs.services))


def time_to_ship(inputs: PanelInputs) -> pd.DataFrame:
    """Mean days from started to shipped of the features shipped that week; weight = features shipped."""
    return _work(inputs, "time_to_ship")


def support_tickets(inputs: PanelInputs) -> pd.DataFrame:
    """Infrastructure support tickets opened per week."""
    return _work(inputs, "support_tickets")


def infra_incidents(inputs: PanelInputs) -> pd.DataFrame:
    """Incidents classified ``infrastructure`` started per week."""
    return _work(inputs, "infra_incidents")


def app_incidents(inputs: PanelInputs) -> pd.DataFrame:
    """Incidents classified ``application`` started per week: the twin the move should not change."""
    return _work(inputs, "app_incidents")
