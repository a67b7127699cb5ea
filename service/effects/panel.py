"""The panel contract: one row per service and complete week, the only shape the effect estimator reads.

A **panel** is a DataFrame with exactly these columns:

- ``service`` (str): the catalogue slug.
- ``week_start`` (``datetime.date``): the Monday of the ISO week, in the configured time zone
  (``FRICTIONLOG_TIMEZONE``), as ``service.core.timeutil.week_start`` gives it. Only complete weeks: the
  current, unfinished week is never a row.
- ``value`` (float): the metric for that service that week; NaN where it is undefined (no deployment, so
  no lead time). Zero is a value (no incident that week), not a gap.
- ``weight`` (float ≥ 0): how much the week's value is based on — deployments for lead time, completed
  deployments for change failure rate, GPU hours for utilisation; 1.0 for unweighted counts. A weight of
  0 is the same as NaN. Weights average a service's weeks before its move; every service counts once in
  the comparison (the service is the unit the bootstrap resamples).

A **metric** is a ``PanelMetric``: what it is called, its unit, which way is better, and a pure
``build(inputs) -> panel`` function. ``PanelInputs.frames`` is a name → DataFrame mapping (``deployments``,
``lead_times``, ``incidents``, ``friction`` today; ``cost`` or ``work_items`` when those sources arrive),
so adding a metric is one builder and one entry in ``service.effects.registry.METRICS`` — nothing in the
estimator, the digest or the criteria changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from service.core import weeks
from service.core.timeutil import as_utc
from service.core.vocab import PANEL_COLUMNS, Metric, metric
from service.core.weeks import week_start


@dataclass(frozen=True, slots=True)
class PanelInputs:
    """What a builder may read. Frames hold tz-aware UTC timestamps; weeks run [start, end) in ``tz``."""

    frames: Mapping[str, pd.DataFrame]
    services: tuple[str, ...]
    tz: str
    start: date
    """The first week's Monday (in ``tz``)."""
    end: date
    """The Monday after the last complete week: rows are weeks before it."""
    environments: frozenset[str] = frozenset({"production", "prod"})
    cache: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """Builders that share a costly intermediate (the weekly DORA table) memoise it here."""


@dataclass(frozen=True, slots=True)
class PanelMetric(Metric):
    """One per-service weekly metric the effect machinery can judge: the metric's words (``service.core.vocab``,
    its one definition) and the pure builder of its per-service weekly panel."""

    build: Callable[[PanelInputs], pd.DataFrame] = field(kw_only=True)

    @classmethod
    def of(cls, key: str, build: Callable[[PanelInputs], pd.DataFrame]) -> PanelMetric:
        words = metric(key)
        return cls(**{f.name: getattr(words, f.name) for f in fields(Metric)}, build=build)


def first_treated_week(moved_at: datetime, tz: str) -> date:
    """The first week a service spent wholly on the new platform: the week of its move, unless it moved
    after that Monday's midnight — then the move week is mixed and belongs to neither side."""
    zone = ZoneInfo(tz)
    monday = week_start(moved_at, zone)
    local = as_utc(moved_at).astimezone(zone)
    at_midnight = local.date() == monday and local.time() == datetime.min.time()
    return monday if at_midnight else monday + timedelta(weeks=1)


def treatment_weeks(moves: Mapping[str, datetime | None], tz: str) -> dict[str, date | None]:
    return {service: None if moved is None else first_treated_week(moved, tz) for service, moved in moves.items()}


def mask_move_weeks(panel: pd.DataFrame, moves: Mapping[str, datetime | None], tz: str) -> pd.DataFrame:
    """NaN the mixed week of each service that moved mid-week (half old platform, half new)."""
    zone = ZoneInfo(tz)
    mixed = {
        (service, week_start(moved, zone))
        for service, moved in moves.items()
        if moved is not None and first_treated_week(moved, tz) != week_start(moved, zone)
    }
    if not mixed:
        return panel
    keys = pd.Series(list(zip(panel["service"], panel["week_start"], strict=True)), index=panel.index)
    hit = keys.isin(mixed)
    return panel.assign(value=panel["value"].where(~hit), weight=panel["weight"].where(~hit, 0.0))


def grid(services: Iterable[str], start: date, end: date) -> pd.DataFrame:
    """Every (service, week) of the window, for builders to fill."""
    mondays = weeks.mondays(start, end)
    names = sorted(set(services))
    return pd.DataFrame(
        {"service": np.repeat(names, len(mondays)), "week_start": mondays * len(names)},
        columns=["service", "week_start"],
    )


def validate(panel: pd.DataFrame) -> pd.DataFrame:
    """The contract, checked: columns, types, one row per (service, week), weights ≥ 0, Mondays only."""
    missing = set(PANEL_COLUMNS) - set(panel.columns)
    if missing:
        raise ValueError(f"panel lacks columns {sorted(missing)}")
    frame = panel[PANEL_COLUMNS].reset_index(drop=True)
    if frame.duplicated(["service", "week_start"]).any():
        raise ValueError("panel has more than one row for a (service, week_start)")
    if not all(isinstance(day, date) and not isinstance(day, datetime) for day in frame["week_start"]):
        raise ValueError("week_start must hold datetime.date values")
    if any(day.weekday() != 0 for day in frame["week_start"]):
        raise ValueError("week_start must be a Monday")
    frame = frame.astype({"service": str, "value": float, "weight": float})
    if (frame["weight"].fillna(0) < 0).any():
        raise ValueError("weights must be ≥ 0")
    return frame
