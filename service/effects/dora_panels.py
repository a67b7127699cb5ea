"""Per-service weekly panels of the DORA keys, from the one weekly table ``service.figures.metrics.compute.weekly``
(so a definition lives in one place: the digest's effects use the figures ``/metrics/weekly`` shows).

Counts (deploys, incidents) are 0 in a week with no event, but only from the service's first production
deployment or incident on: empty weeks before a service sent anything would fake an improvement. Medians
and rates are NaN in a week with nothing to take them from, and weighted by what they are taken from.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from service.effects.panel import PanelInputs, grid
from service.figures.metrics import compute

HOUR = 3600.0
WEEKLY = "dora_weekly"
"""A frame name: the weekly table by service (``compute.WEEKLY_COLUMNS``), when the caller has it already —
the digest reads it from the rollups (``rollup.weekly_from_rollups``, equal to ``compute.weekly``, see
tests/test_rollups.py). Without it the table is computed here from the raw frames."""


def weekly_by_service(inputs: PanelInputs) -> pd.DataFrame:
    """``compute.weekly`` grouped by service, keyed by (service, week_start); memoised in ``inputs.cache``."""
    cached = inputs.cache.get(WEEKLY)
    if isinstance(cached, pd.DataFrame):
        return cached
    frames = inputs.frames
    table = frames.get(WEEKLY)
    if table is None:
        table = compute.weekly(
            compute.Frames(frames["deployments"], frames["lead_times"], frames["incidents"], frames["friction"]),
            tz=inputs.tz,
            environments=inputs.environments,
            group_by="service",
        )
    table = table.assign(
        service=table["group"],
        week_start=[date.fromisocalendar(int(w[:4]), int(w[6:]), 1) for w in table["week"]],
    )
    inputs.cache[WEEKLY] = table
    return table


def _first_seen(inputs: PanelInputs) -> pd.Series:
    """The first week each service had a production deployment or an incident."""
    table = weekly_by_service(inputs)
    active = table[(table["completed_deployments"] > 0) | (table["incidents"] > 0)]
    return active.groupby("service")["week_start"].min()


def _panel(inputs: PanelInputs, value: pd.Series, weight: pd.Series, *, count: bool) -> pd.DataFrame:
    table = weekly_by_service(inputs)
    frame = grid(inputs.services, inputs.start, inputs.end)
    keyed = table.assign(value=value, weight=weight)[["service", "week_start", "value", "weight"]]
    frame = frame.merge(keyed, on=["service", "week_start"], how="left")
    if count:
        first = frame["service"].map(_first_seen(inputs))
        alive = first.notna() & (frame["week_start"] >= first.where(first.notna(), date.max))
        frame["value"] = frame["value"].fillna(0.0).where(alive)
        frame["weight"] = np.where(alive, 1.0, 0.0)
    else:
        frame["weight"] = frame["weight"].fillna(0.0)
        frame["value"] = frame["value"].where(frame["weight"] > 0)
    return frame.astype({"value": float, "weight": float})


def deploys(inputs: PanelInputs) -> pd.DataFrame:
    table = weekly_by_service(inputs)
    return _panel(inputs, table["deployments"].astype(float), pd.Series(1.0, index=table.index), count=True)


def lead_time_hours(inputs: PanelInputs) -> pd.DataFrame:
    table = weekly_by_service(inputs)
    return _panel(inputs, table["lead_time_median_seconds"] / HOUR, table["lead_time_n"].astype(float), count=False)


def change_failure_rate(inputs: PanelInputs) -> pd.DataFrame:
    table = weekly_by_service(inputs)
    return _panel(inputs, table["change_failure_rate"], table["completed_deployments"].astype(float), count=False)


def time_to_restore_hours(inputs: PanelInputs) -> pd.DataFrame:
    table = weekly_by_service(inputs)
    return _panel(inputs, table["time_to_restore_median_seconds"] / HOUR, table["restore_n"].astype(float), count=False)


def incidents(inputs: PanelInputs) -> pd.DataFrame:
    table = weekly_by_service(inputs)
    return _panel(inputs, table["incidents"].astype(float), pd.Series(1.0, index=table.index), count=True)
