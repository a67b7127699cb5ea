"""The DORA keys over a time window, as pure functions of DataFrames (definitions: docs/metrics.md).

Frames (timestamps tz-aware UTC), already filtered to the services asked about:
- deployments: id, service, environment, status, finished_at, platform, is_rollback, rollback_of_id
- lead_times: deployment_id, committed_at, finished_at, excluded
- incidents: id, service, severity, started_at, resolved_at, platform, caused_by_deployment_id
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from service.core.vocab import DeploymentStatus
from service.figures.metrics.compute import FAILED_STATUSES, counted_lead_seconds, failed_deployment_ids, production

DEFINITIONS_VERSION = "1.0"
BAND_SOURCE = "2023 Accelerate State of DevOps Report (DORA), performance clusters"

# Upper bounds of each band, from the 2023 clusters (docs/metrics.md explains the choice).
LEAD_TIME_BANDS = ((timedelta(days=1), "elite"), (timedelta(weeks=1), "high"), (timedelta(days=30), "medium"))
RESTORE_BANDS = ((timedelta(hours=1), "elite"), (timedelta(days=1), "high"), (timedelta(weeks=1), "medium"))
FAILURE_BANDS = ((0.05, "elite"), (0.10, "high"), (0.15, "medium"))
FREQUENCY_BANDS = ((7.0, "on-demand"), (1.0, "daily"), (12 / 52, "weekly"), (2 / 52, "monthly"))
"""Deployments per week at or above which a band starts: more than daily, between daily and weekly, …"""


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime

    @property
    def weeks(self) -> float:
        return max((self.end - self.start) / timedelta(weeks=1), 1 / 7)

    def mask(self, moments: pd.Series) -> pd.Series:
        return (moments >= pd.Timestamp(self.start)) & (moments < pd.Timestamp(self.end))


def _band(
    value: float | timedelta | None, bands: tuple[tuple[Any, str], ...], worst: str, low_sample: bool
) -> str | None:
    if value is None or low_sample:
        return None
    for bound, name in bands:
        if value <= bound:
            return name
    return worst


def _seconds(values: pd.Series, quantile: float) -> float | None:
    return None if values.empty else float(values.quantile(quantile))


def _frequency(successes: int, deploy_days: int, weeks: float, min_sample: int) -> dict[str, Any]:
    """Deployments per week from the successful production deployments of the window: the one rule both
    the raw rows (``deployment_frequency``) and the weekly rollups (``from_rollups``) go through.

    Below a week (a short ``from``–``to``, the week so far) there is no weekly rate: 3 deployments in 3 days
    are not "7 a week" — a rate over days cannot say what the rest of the week brings (deploys bunch on
    some weekdays). ``per_week`` and ``band`` are then None and the figure is the count over ``window_days``
    (``short_window``); docs/metrics.md, "Windows shorter than a week"."""
    short = weeks < 1 - 1e-9
    per_week = None if short else successes / weeks
    low = successes < min_sample
    band = None
    if not low and per_week is not None:
        band = next((name for bound, name in FREQUENCY_BANDS if per_week >= bound), "fewer")
    return {
        "deployments": successes,
        "per_week": None if per_week is None else round(per_week, 3),
        "deploy_days": deploy_days,
        "window_days": round(weeks * 7, 2),
        "short_window": short,
        "band": band,
        "low_sample": low,
    }


def _failure_rate(failed: int, total: int, min_sample: int) -> dict[str, Any]:
    rate = failed / total if total else None
    low = total < min_sample
    return {
        "rate": None if rate is None else round(rate, 4),
        "failed": failed,
        "deployments": total,
        "band": _band(rate, FAILURE_BANDS, "low", low),
        "low_sample": low,
    }


def _median_band(values: pd.Series, bands: tuple[tuple[Any, str], ...], min_sample: int) -> dict[str, Any]:
    low = len(values) < min_sample
    median = _seconds(values, 0.5)
    band = _band(None if median is None else timedelta(seconds=median), bands, "low", low)
    return {"median_seconds": median, "n": len(values), "band": band, "low_sample": low}


def deployment_frequency(
    prod: pd.DataFrame, window: Window, tz: str, min_sample: int, *, weeks: float | None = None
) -> dict[str, Any]:
    """``weeks``: the denominator when it is not the whole window (under a platform filter, the weeks the
    services ran on that platform)."""
    done = prod[prod["status"].eq(DeploymentStatus.SUCCESS) & window.mask(prod["finished_at"])]
    days = int(done["finished_at"].dt.tz_convert(tz).dt.date.nunique())
    return _frequency(len(done), days, weeks if weeks is not None else window.weeks, min_sample)


def lead_time(lead_times: pd.DataFrame, prod_ids: set[int], window: Window, min_sample: int) -> dict[str, Any]:
    pairs = lead_times[lead_times["deployment_id"].isin(prod_ids) & window.mask(lead_times["finished_at"])]
    counted = counted_lead_seconds(pairs)
    left_out = pairs.drop(index=counted.index)
    values = counted["seconds"]
    reasons = left_out["excluded"].fillna("non_positive").value_counts()
    return {
        **_median_band(values, LEAD_TIME_BANDS, min_sample),
        "p90_seconds": _seconds(values, 0.9),
        "excluded": len(left_out),
        "excluded_by_reason": {str(reason): int(count) for reason, count in reasons.items()},
    }


def change_failure_rate(prod: pd.DataFrame, incidents: pd.DataFrame, window: Window, min_sample: int) -> dict[str, Any]:
    in_window = prod[window.mask(prod["finished_at"])]
    failed = in_window["id"].isin(failed_deployment_ids(prod, incidents))
    return _failure_rate(int(failed.sum()), len(in_window), min_sample)


def time_to_restore(incidents: pd.DataFrame, window: Window, min_sample: int) -> dict[str, Any]:
    started = incidents[window.mask(incidents["started_at"])]
    resolved = started[started["resolved_at"].notna()]
    seconds = (resolved["resolved_at"] - resolved["started_at"]).dt.total_seconds()
    seconds = seconds[seconds >= 0]
    return {
        **_median_band(seconds, RESTORE_BANDS, min_sample),
        "unresolved": int(started["resolved_at"].isna().sum()),
    }


def rework_rate(prod: pd.DataFrame, window: Window, follow_up: timedelta, min_sample: int) -> dict[str, Any]:
    """Unplanned deployments ÷ deployments: rollbacks, and deployments of a service within ``follow_up``
    after one of its failed deployments (a fix forward). DORA 2024's fifth key."""
    ordered = prod.sort_values("finished_at")
    previous_failed_at = (
        ordered["finished_at"].where(ordered["status"].isin(FAILED_STATUSES)).groupby(ordered["service"]).shift(1)
    )
    previous_failed_at = previous_failed_at.groupby(ordered["service"]).ffill()
    fix_forward = (ordered["finished_at"] - previous_failed_at) <= pd.Timedelta(follow_up)
    unplanned = ordered["is_rollback"].astype(bool) | fix_forward.fillna(False)
    in_window = window.mask(ordered["finished_at"])
    total = int(in_window.sum())
    count = int((unplanned & in_window).sum())
    return {
        "rate": round(count / total, 4) if total else None,
        "unplanned": count,
        "n": total,
        "low_sample": total < min_sample,
    }


def incident_summary(incidents: pd.DataFrame, window: Window) -> dict[str, Any]:
    started = incidents[window.mask(incidents["started_at"])]
    minutes = ((started["resolved_at"] - started["started_at"]).dt.total_seconds() / 60).clip(lower=0)
    return {
        "count": len(started),
        "by_severity": {
            str(k): int(v) for k, v in started["severity"].fillna("unknown").value_counts().sort_index().items()
        },
        "minutes_of_impact": round(float(minutes.sum()), 1),
        "unresolved": int(started["resolved_at"].isna().sum()),
    }


def dora(
    deployments: pd.DataFrame,
    lead_times: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    window: Window,
    environments: frozenset[str],
    tz: str,
    min_sample: int,
    follow_up: timedelta,
    weeks: float | None = None,
) -> dict[str, Any]:
    """Every key over the window. Figures from fewer than ``min_sample`` samples say so and carry no band.
    ``weeks`` replaces the window's length as the denominator of deployments per week."""
    prod = production(deployments, environments)
    prod_ids = set(prod["id"].astype(int))
    return {
        "definitions_version": DEFINITIONS_VERSION,
        "bands_from": BAND_SOURCE,
        "from": window.start.isoformat(),
        "to": window.end.isoformat(),
        "deployment_frequency": deployment_frequency(prod, window, tz, min_sample, weeks=weeks),
        "lead_time": lead_time(lead_times, prod_ids, window, min_sample),
        "change_failure_rate": change_failure_rate(prod, incidents, window, min_sample),
        "time_to_restore": time_to_restore(incidents, window, min_sample),
        "rework_rate": rework_rate(prod, window, follow_up, min_sample),
        "incidents": incident_summary(incidents, window),
    }


def _flat(samples: pd.Series) -> pd.Series:
    """The per-row sample lists (or arrays) of rollup rows laid end to end."""
    parts = [np.asarray(v, dtype=float) for v in samples if len(v)]
    return pd.Series(np.concatenate(parts) if parts else np.empty(0), dtype=float)


def from_rollups(rows: pd.DataFrame, *, weeks: float, min_sample: int) -> dict[str, Any]:
    """The keys ``dora`` gives for a window of whole weeks, from the weekly rollup rows of those weeks
    (``service.figures.metrics.rollup.ROLLUP_COLUMNS``; already narrowed to the weeks and services asked about).
    The same rules: rollups keep every lead and restore sample, so medians are exact
    (tests/test_rollup_dora.py checks it against ``dora`` on random data). What rollups do not keep —
    excluded lead-time pairs, unresolved incidents, severities, rework — is not here. ``weeks``: the
    denominator of deployments per week (less than the rows' weeks for the week so far)."""
    masks = rows["deploy_days_mask"].to_numpy(dtype=np.int64)
    week_masks = pd.Series(masks, index=rows.index).groupby(rows["week"]).agg(np.bitwise_or.reduce)
    days = sum(int(mask).bit_count() for mask in week_masks)
    leads, restores = _flat(rows["lead_seconds"]), _flat(rows["restore_seconds"])
    return {
        "deployment_frequency": _frequency(int(rows["deployments"].sum()), days, max(weeks, 1 / 7), min_sample),
        "lead_time": {**_median_band(leads, LEAD_TIME_BANDS, min_sample), "p90_seconds": _seconds(leads, 0.9)},
        "change_failure_rate": _failure_rate(int(rows["failed"].sum()), int(rows["completed"].sum()), min_sample),
        "time_to_restore": _median_band(restores, RESTORE_BANDS, min_sample),
        "incidents": {"count": int(rows["incidents"].sum())},
    }
