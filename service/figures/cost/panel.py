"""Per-service weekly panels of the cost metrics, for the effects estimator and the digest.

A panel is a DataFrame with one row per (service, week) that has data:
- ``service`` (str)
- ``week_start`` (datetime.date): the Monday of the ISO week in the configured time zone
  (:func:`service.core.timeutil.week_start`)
- ``value`` (float; NaN where the week's figure is undefined)
- ``weight`` (float ≥ 0): how much the row should count — GPU hours provisioned for GPU utilisation,
  1.0 for the others.

One builder per digest key (``PANELS``), pure functions of the frames ``service.figures.cost.frames`` loads, and
using the same rules as the weekly figures (``service.figures.cost.compute``): prorating over weeks, currency
conversion, bills over OpenCost, GPU hours weighting. Unallocated spend belongs to no service and is left
out. Weeks from ``complete_before`` on (the current, unfinished week) are never rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlmodel import Session

from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.weeks import week_start
from service.figures.cost import compute
from service.figures.cost.currency import Currencies
from service.figures.cost.frames import cost_frame, measurement_frame
from service.figures.filters import Filters

PANEL_COLUMNS = ["service", "week_start", "value", "weight"]


@dataclass(frozen=True, slots=True)
class PanelInputs:
    costs: pd.DataFrame
    """cost_frame(): source, service, platform, category, period_start, period_end, amount, currency."""
    measurements: pd.DataFrame
    """measurement_frame(): service, platform, metric, value, period_start, period_end."""


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "service": pd.Series(dtype=str),
            "week_start": pd.Series(dtype=object),
            "value": pd.Series(dtype=float),
            "weight": pd.Series(dtype=float),
        }
    )


def _local_monday(instants: pd.Series, tz: str) -> pd.Series:
    """The ISO week's Monday (a date in ``tz``) of week-start instants, by the one rule in timeutil."""
    zone = ZoneInfo(tz)
    mondays = {moment: week_start(moment.to_pydatetime(), zone) for moment in instants.unique()}
    mapped: pd.Series = instants.map(mondays)
    return mapped


def _finish(frame: pd.DataFrame, tz: str, complete_before: date | None) -> pd.DataFrame:
    if frame.empty:
        return _empty()
    frame = frame.assign(week_start=_local_monday(frame["week_start"], tz))
    if complete_before is not None:
        frame = frame[frame["week_start"] < complete_before]
    out = frame[PANEL_COLUMNS].astype({"service": str, "value": float, "weight": float})
    return out.sort_values(["service", "week_start"]).reset_index(drop=True)


def compute_cost_panel(
    costs: pd.DataFrame, *, tz: str, currencies: Currencies, complete_before: date | None = None
) -> pd.DataFrame:
    """Compute cost per service and week in the reporting currency (credits subtract); weight 1.0."""
    spend = compute.reporting_costs(costs, currencies, tz)
    spend = spend[spend["service"].notna()] if not spend.empty else spend
    if spend.empty:
        return _empty()
    sums = spend.groupby(["service", "week_start"])["amount"].sum().reset_index()
    return _finish(sums.assign(value=sums["amount"], weight=1.0), tz, complete_before)


def gpu_utilisation_panel(measurements: pd.DataFrame, *, tz: str, complete_before: date | None = None) -> pd.DataFrame:
    """GPU hours used ÷ provisioned per service and week; weight = GPU hours provisioned (NaN value, weight 0
    where nothing was provisioned)."""
    if measurements.empty:
        return _empty()
    spread = compute.spread_over_weeks(measurements[measurements["service"].notna()], "value", tz)
    gpu = compute.service_week_gpu(spread, key=("week_start", "service"))
    if gpu.empty:
        return _empty()
    prov = gpu["prov"].astype(float)
    value = (gpu["used"].astype(float) / prov.where(prov > 0)).astype(float)
    frame = gpu.assign(value=value, weight=prov.where(prov > 0, 0.0).fillna(0.0))
    frame["week_start"] = pd.to_datetime(frame["week_start"], utc=True)
    return _finish(frame, tz, complete_before)


def cold_start_p95_panel(measurements: pd.DataFrame, *, tz: str, complete_before: date | None = None) -> pd.DataFrame:
    """The 95th percentile of ``cold_start_seconds`` per service and week (linear interpolation); weight 1.0."""
    starts = measurements[(measurements["metric"] == "cold_start_seconds") & measurements["service"].notna()]
    if starts.empty:
        return _empty()
    spread = compute.spread_over_weeks(starts, "value", tz)
    p95 = spread.groupby(["service", "week_start"], as_index=False)["value"].quantile(0.95)
    return _finish(p95.assign(weight=1.0), tz, complete_before)


def measurement_panel(
    measurements: pd.DataFrame, name: str, *, tz: str, complete_before: date | None = None
) -> pd.DataFrame:
    """Any measurement ``name`` (a user-declared metric): its mean per service and week, weighted by how
    many values the week holds (a period spanning weeks is prorated like every measurement)."""
    rows = measurements[(measurements["metric"] == name) & measurements["service"].notna()]
    if rows.empty:
        return _empty()
    spread = compute.spread_over_weeks(rows, "value", tz)
    weekly = spread.groupby(["service", "week_start"], as_index=False)["value"].agg(["mean", "count"])
    return _finish(weekly.rename(columns={"mean": "value", "count": "weight"}), tz, complete_before)


Builder = Callable[[PanelInputs, Settings, date | None], pd.DataFrame]

PANELS: dict[str, Builder] = {
    "compute_cost": lambda inputs, settings, before: compute_cost_panel(
        inputs.costs, tz=settings.timezone, currencies=Currencies.from_settings(settings), complete_before=before
    ),
    "gpu_utilisation": lambda inputs, settings, before: gpu_utilisation_panel(
        inputs.measurements, tz=settings.timezone, complete_before=before
    ),
    "cold_start_p95": lambda inputs, settings, before: cold_start_p95_panel(
        inputs.measurements, tz=settings.timezone, complete_before=before
    ),
}
"""Digest key → panel builder."""

HIGHER_IS_BETTER = {"compute_cost": False, "gpu_utilisation": True, "cold_start_p95": False}


def load_inputs(
    session: Session, *, filters: Filters | None = None, start: datetime | None = None, end: datetime | None = None
) -> PanelInputs:
    filters = filters or Filters()
    return PanelInputs(
        costs=cost_frame(session, filters, start, end), measurements=measurement_frame(session, filters, start, end)
    )


def load_panel(
    session: Session,
    settings: Settings,
    key: str,
    *,
    filters: Filters | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """The panel of digest key ``key`` from the database; only whole weeks before the current one."""
    if key not in PANELS:
        raise KeyError(f"no cost panel {key!r}; known: {', '.join(PANELS)}")
    return PANELS[key](
        load_inputs(session, filters=filters, start=start, end=end),
        settings,
        week_start(now or utcnow(), ZoneInfo(settings.timezone)),
    )


def load_panels(
    session: Session, settings: Settings, *, filters: Filters | None = None, now: datetime | None = None
) -> dict[str, pd.DataFrame]:
    """Every cost panel from one read of the tables."""
    inputs = load_inputs(session, filters=filters)
    before = week_start(now or utcnow(), ZoneInfo(settings.timezone))
    return {key: builder(inputs, settings, before) for key, builder in PANELS.items()}


__all__ = [
    "HIGHER_IS_BETTER",
    "PANELS",
    "PANEL_COLUMNS",
    "PanelInputs",
    "cold_start_p95_panel",
    "compute_cost_panel",
    "gpu_utilisation_panel",
    "load_panel",
    "load_panels",
]
