"""Per-service weekly panels for the effects estimator, one builder per digest key.

Pure: frames from service/figures/work/compute.py (or ``service.load_incidents``) in, a panel out with exactly
the columns ``service`` (str), ``week_start`` (``datetime.date``: the Monday of the ISO week in ``tz``,
from ``service.core.timeutil.week_start``), ``value`` (float; NaN where undefined) and ``weight`` (float ≥ 0).
Every service × every *complete* week in [start, end) is a row: the current, unfinished week is
never a week. Counts are 0 in a week with nothing; a mean over nothing is NaN with weight 0.

- ``time_to_ship``: mean days from started to shipped of the features shipped that week (the week of
  the shipment); weight = how many shipped. Done-fallback figures are left out unless asked for.
- ``support_tickets``: support tickets opened that week; weight 1.
- ``infra_incidents`` / ``app_incidents``: incidents started that week classified infrastructure /
  application; weight 1. (``app_incidents`` is the twin that must not move.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import date, datetime

import pandas as pd

from service.core.vocab import PANEL_COLUMNS
from service.core.weeks import complete_weeks, week_start_dates


def _grid(services: Iterable[str], weeks: list[date]) -> pd.DataFrame:
    index = pd.MultiIndex.from_product([sorted(set(services)), weeks], names=["service", "week_start"])
    return pd.DataFrame(index=index).reset_index()


def _services(frame: pd.DataFrame, services: Iterable[str] | None) -> list[str]:
    if services is not None:
        return list(services)
    return sorted({s for s in frame["service"] if isinstance(s, str) and s})


def _finish(grid: pd.DataFrame, value: pd.Series, weight: pd.Series) -> pd.DataFrame:
    grid = grid.assign(value=value.to_numpy(dtype=float), weight=weight.to_numpy(dtype=float))
    return grid[PANEL_COLUMNS].reset_index(drop=True)


def count_panel(
    frame: pd.DataFrame,
    moment: str,
    *,
    tz: str,
    start: datetime,
    end: datetime,
    services: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Rows of ``frame`` per service and complete week of ``frame[moment]``; weight 1."""
    weeks = complete_weeks(start, end, tz)
    grid = _grid(_services(frame, services), weeks)
    rows = frame[frame["service"].notna() & frame[moment].notna()]
    counts = (
        rows.assign(week_start=week_start_dates(rows[moment], tz)).groupby(["service", "week_start"]).size()
        if not rows.empty
        else pd.Series(dtype=float)
    )
    keys = pd.MultiIndex.from_arrays([grid["service"], grid["week_start"]])
    value = counts.reindex(keys, fill_value=0).astype(float) if len(counts) else pd.Series(0.0, index=keys)
    return _finish(grid, value, pd.Series([1.0] * len(grid)))


def time_to_ship_panel(
    samples: pd.DataFrame,
    *,
    tz: str,
    start: datetime,
    end: datetime,
    services: Iterable[str] | None = None,
    include_fallback: bool = False,
) -> pd.DataFrame:
    """Mean time to ship (days) of features shipped each week; weight = features shipped."""
    features = samples[(samples["kind"] == "feature") & samples["service"].notna()]
    if not include_fallback:
        features = features[features["basis"] == "shipped"]
    moment = features["shipped_at"].fillna(features["done_at"])
    weeks = complete_weeks(start, end, tz)
    grid = _grid(_services(samples, services), weeks)
    grouped = (
        features.assign(week_start=week_start_dates(moment, tz)).groupby(["service", "week_start"])["days"]
        if not features.empty
        else None
    )
    means = grouped.mean() if grouped is not None else pd.Series(dtype=float)
    sizes = grouped.size() if grouped is not None else pd.Series(dtype=float)
    keys = list(zip(grid["service"], grid["week_start"], strict=True))
    value = pd.Series([float(means.get(key, math.nan)) for key in keys])
    weight = pd.Series([float(sizes.get(key, 0)) for key in keys])
    return _finish(grid, value, weight)


def support_tickets_panel(
    tickets: pd.DataFrame, *, tz: str, start: datetime, end: datetime, services: Iterable[str] | None = None
) -> pd.DataFrame:
    """Support tickets opened per service and week (``compute.support_tickets`` rows)."""
    return count_panel(tickets, "opened_at", tz=tz, start=start, end=end, services=services)


def incidents_panel(
    incidents: pd.DataFrame,
    *,
    category: str,
    tz: str,
    start: datetime,
    end: datetime,
    services: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Incidents of one category started per service and week; services with none still get zeros."""
    chosen = incidents[incidents["category"] == category]
    names = _services(incidents, services)
    return count_panel(chosen, "started_at", tz=tz, start=start, end=end, services=names)


def infra_incidents_panel(
    incidents: pd.DataFrame, *, tz: str, start: datetime, end: datetime, services: Iterable[str] | None = None
) -> pd.DataFrame:
    return incidents_panel(incidents, category="infrastructure", tz=tz, start=start, end=end, services=services)


def app_incidents_panel(
    incidents: pd.DataFrame, *, tz: str, start: datetime, end: datetime, services: Iterable[str] | None = None
) -> pd.DataFrame:
    return incidents_panel(incidents, category="application", tz=tz, start=start, end=end, services=services)


PanelBuilder = Callable[..., pd.DataFrame]
PANELS: dict[str, tuple[str, PanelBuilder]] = {
    "time_to_ship": ("samples", time_to_ship_panel),
    "support_tickets": ("tickets", support_tickets_panel),
    "infra_incidents": ("incidents", infra_incidents_panel),
    "app_incidents": ("incidents", app_incidents_panel),
}
"""Digest key → (which input frame it takes, its builder); ``service.figures.work.service.load_panel`` uses it."""
