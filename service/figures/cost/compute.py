"""Weekly cost and utilisation figures (docs/metrics.md, "Cost and utilisation"), as pure functions.

Input frames (timestamps aware UTC; grouping columns service, team, platform, cohort):
- costs: source, service, platform, category, period_start, period_end, amount, currency
- measurements: service, platform, metric, value, period_start, period_end

Rules, each in one place here:
- A cost line's amount is spread over the ISO weeks its period overlaps, in proportion to the overlap
  (a monthly tax line is not one week's spike). Amounts are converted to the reporting currency first.
- Bills (FOCUS, generic) and OpenCost's estimate of the same spend are never added: in a week with any
  billed line, OpenCost lines are left out.
- Unallocated spend (no service) is its own group (``unallocated``) by service or team, and its share of
  the group's cost is reported.
- GPU utilisation = GPU hours used ÷ GPU hours provisioned, summed over the group's services (weighted by
  hours). A service-week with only ``gpu_utilisation`` ratios weights their duration-weighted mean by its
  provisioned hours, or by their own duration when none are known.
- Idle GPU cost = GPU cost (lines with category ``gpu``) × (1 − the service-week's GPU utilisation).
- CPU utilisation = the duration-weighted mean of ``cpu_utilisation`` (an instant weighs one hour).
- Cold-start p95 = the 95th percentile of the week's ``cold_start_seconds`` values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from service.core.weeks import week_label, week_start_instants
from service.figures.cost.currency import Currencies

BILLED_SOURCES = ("focus", "generic")
ESTIMATE_SOURCES = ("opencost",)
UNALLOCATED = "unallocated"
GPU_CATEGORY = "gpu"
COST_COLUMNS = [
    "compute_cost",
    "unallocated_cost",
    "unallocated_cost_share",
    "cost_per_deployment",
    "gpu_hours_provisioned",
    "gpu_hours_used",
    "gpu_utilisation",
    "idle_gpu_cost",
    "cpu_utilisation",
    "cold_start_p95_seconds",
    "cold_start_n",
]
WEEK = pd.Timedelta(weeks=1)


def _hours(frame: pd.DataFrame) -> pd.Series:
    hours: pd.Series = (frame["period_end"] - frame["period_start"]).dt.total_seconds() / 3600.0
    return hours


ADDITIVE_METRICS = frozenset({"gpu_hours_provisioned", "gpu_hours_used"})
"""Measurements that add up over time (prorated when split); the others (ratios, latencies) are not."""


def prorated(frame: pd.DataFrame, column: str) -> pd.Series:
    """Which rows' ``column`` is split in proportion to time: every amount; additive metrics only."""
    if column == "value" and "metric" in frame:
        mask: pd.Series = frame["metric"].isin(ADDITIVE_METRICS)
        return mask
    return pd.Series(True, index=frame.index)


def spread_over_weeks(frame: pd.DataFrame, column: str, tz: str) -> pd.DataFrame:
    """Rows whose period crosses a week boundary split into one row per week (period cut to the week),
    ``column`` prorated by overlap where :func:`prorated`; adds ``week`` and ``week_start`` (UTC instant
    of the local Monday). An instant stays whole."""
    if frame.empty:
        return frame.assign(week=pd.Series(dtype=str), week_start=pd.Series(dtype="datetime64[ns, UTC]"))
    first = week_start_instants(frame["period_start"], tz)
    last_moment = frame["period_end"].where(frame["period_end"] > frame["period_start"], frame["period_start"])
    last = week_start_instants(last_moment - pd.Timedelta(microseconds=1), tz).where(
        frame["period_end"] > frame["period_start"], first
    )
    single = first == last
    whole = frame[single].assign(week_start=first[single])
    parts = [whole]
    crossing = frame[~single]
    if not crossing.empty:
        pieces = []
        split = prorated(crossing, column)
        for index, row in crossing.iterrows():
            total = (row["period_end"] - row["period_start"]).total_seconds()
            start, stop = first.loc[index], last.loc[index]  # type: ignore[call-overload]
            while start <= stop:
                local = start.tz_convert(tz)
                end = (local + pd.DateOffset(weeks=1)).tz_convert("UTC")
                overlap = (min(end, row["period_end"]) - max(start, row["period_start"])).total_seconds()
                if overlap > 0:
                    piece = row.copy()
                    if split.loc[index]:  # type: ignore[call-overload]
                        piece[column] = row[column] * overlap / total
                    piece["period_start"] = max(start, row["period_start"])
                    piece["period_end"] = min(end, row["period_end"])
                    piece["week_start"] = start
                    pieces.append(piece)
                start = end
        parts.append(pd.DataFrame(pieces))
    spread = pd.concat(parts, ignore_index=True)
    spread["week_start"] = pd.to_datetime(spread["week_start"], utc=True)
    return spread.assign(week=week_label(spread["week_start"], tz))


def _group(frame: pd.DataFrame, group_by: str) -> pd.Series:
    column = frame[group_by].replace("", np.nan)
    if group_by in ("service", "team"):
        column = column.where(frame["service"].notna(), UNALLOCATED)
    grouped: pd.Series = column.fillna("unknown").astype(str)
    return grouped


def reporting_costs(costs: pd.DataFrame, currencies: Currencies, tz: str) -> pd.DataFrame:
    """Cost lines in the reporting currency, spread over weeks, with OpenCost dropped where bills exist."""
    if costs.empty:
        return spread_over_weeks(costs.assign(amount=costs["amount"].astype(float)), "amount", tz)
    converted = costs.assign(amount=currencies.convert(costs["amount"], costs["currency"]))
    spread = spread_over_weeks(converted, "amount", tz)
    billed_weeks = set(spread.loc[spread["source"].isin(BILLED_SOURCES), "week"])
    estimate = spread["source"].isin(ESTIMATE_SOURCES) & spread["week"].isin(billed_weeks)
    return spread[~estimate]


def service_week_gpu(measures: pd.DataFrame, key: tuple[str, ...] = ("week", "service", "platform")) -> pd.DataFrame:
    """Per ``key`` (a week, a service, …): GPU hours provisioned (``prov``) and used (``used``), by the rule
    in the module docstring. ``measures`` is spread over weeks already (:func:`spread_over_weeks`)."""
    by = list(key)
    gpu = measures[measures["metric"].isin(["gpu_hours_provisioned", "gpu_hours_used", "gpu_utilisation"])]
    if gpu.empty:
        return pd.DataFrame(columns=[*by, "prov", "used"])
    gpu = gpu.assign(weight=_hours(gpu).where(lambda h: h > 0, 1.0))
    gpu = gpu.assign(**{name: gpu[name].fillna("") for name in ("service", "platform") if name in by})
    sums = gpu.pivot_table(index=by, columns="metric", values="value", aggfunc="sum", fill_value=np.nan)
    ratios = gpu[gpu["metric"] == "gpu_utilisation"]
    if not ratios.empty:
        weighted = ratios.assign(vw=ratios["value"] * ratios["weight"]).groupby(by)[["vw", "weight"]].sum()
        sums = sums.join((weighted["vw"] / weighted["weight"]).rename("ratio"), how="outer")
        sums = sums.join(weighted["weight"].rename("ratio_hours"), how="outer")
    else:
        sums["ratio"], sums["ratio_hours"] = np.nan, np.nan
    for name in ("gpu_hours_provisioned", "gpu_hours_used"):
        if name not in sums:
            sums[name] = np.nan
    prov = sums["gpu_hours_provisioned"]
    prov = prov.where(prov.notna(), sums["ratio_hours"].where(sums["ratio"].notna()))
    used = sums["gpu_hours_used"].where(sums["gpu_hours_used"].notna(), sums["ratio"] * prov)
    return pd.DataFrame({"prov": prov, "used": used}).reset_index()


def with_cost(weekly: pd.DataFrame, cost: pd.DataFrame) -> pd.DataFrame:
    """The weekly DORA table joined with the cost figures on (week, group); cost per deployment computed."""
    merged = weekly.merge(cost.drop(columns=["cost_per_deployment"]), on=["week", "group"], how="outer")
    counts = [c for c in weekly.columns if c not in ("week", "group") and pd.api.types.is_integer_dtype(weekly[c])]
    for name in counts:
        merged[name] = merged[name].fillna(0).astype(int)
    deployments = merged["deployments"].where(merged["deployments"] > 0)
    merged["cost_per_deployment"] = merged["compute_cost"] / deployments
    return merged.sort_values(["week", "group"]).reset_index(drop=True)


MEASUREMENT_WEEKLY_COLUMNS = ["week", "group", "metric", "unit", "mean", "sum", "min", "max", "n"]


def measurement_weekly(measurements: pd.DataFrame, *, tz: str, group_by: str) -> pd.DataFrame:
    """Any metric, by week and group: the duration-weighted mean (an instant weighs one hour), the sum (of
    the values as given, prorated by time for additive metrics), min, max and count — so a metric the weekly
    figures do not know is still charted."""
    if measurements.empty:
        return pd.DataFrame(columns=MEASUREMENT_WEEKLY_COLUMNS)
    spread = spread_over_weeks(measurements, "value", tz)
    weight = _hours(spread).where(lambda h: h > 0, 1.0)
    spread = spread.assign(group=_group(spread, group_by), weighted=spread["value"] * weight, weight=weight)
    spread["unit"] = spread["unit"].fillna("")
    grouped = spread.groupby(["week", "group", "metric", "unit"])
    table = grouped.agg(
        total=("value", "sum"),
        low=("value", "min"),
        high=("value", "max"),
        n=("value", "count"),
        weighted=("weighted", "sum"),
        weight=("weight", "sum"),
    ).reset_index()
    table = table.assign(mean=table["weighted"] / table["weight"]).rename(
        columns={"total": "sum", "low": "min", "high": "max"}
    )
    table["unit"] = table["unit"].replace("", None)
    return table[MEASUREMENT_WEEKLY_COLUMNS].sort_values(["week", "group", "metric"]).reset_index(drop=True)
