"""Weekly cost rollups as pure functions: cost lines and measurements → rows per (week, service, platform),
and those rows → the weekly cost figures of any grouping.

Every rule of ``service.figures.cost.compute`` is applied on the way into a row (currency conversion, spreading
over weeks, GPU hours per service-week) or on the way out (bills over OpenCost per week, utilisation as a
ratio of sums, p95 over the kept samples), so the weekly figures computed from raw rows are, by
construction, the figures read from stored rollups: ``cost_weekly`` is these two steps in one go.
Unallocated spend is the row with service ``""``; an unknown platform is ``""``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from service.figures.cohort import with_cohort
from service.figures.cost import gpu
from service.figures.cost.compute import (
    BILLED_SOURCES,
    COST_COLUMNS,
    GPU_CATEGORY,
    UNALLOCATED,
    _hours,
    service_week_gpu,
    spread_over_weeks,
)
from service.figures.cost.currency import Currencies

KEY = ["week", "week_start", "service", "platform"]
SUMS = [
    "billed_cost",
    "billed_lines",
    "estimate_cost",
    "estimate_lines",
    "gpu_cost_billed",
    "gpu_cost_estimate",
    "gpu_hours_provisioned",
    "gpu_hours_used",
    "cpu_weighted",
    "cpu_hours",
]
COST_ROLLUP_COLUMNS = [*KEY, *SUMS, "cold_start_seconds"]
"""Sums that add across rows (NaN where a row has none of it), and the cold-start samples kept whole."""


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(service=frame["service"].fillna(""), platform=frame["platform"].fillna(""))


def _sums(grouped: Any, column: pd.Series) -> list[float]:
    """Each group's sum of ``column`` (``grouped``: a ``DataFrame.groupby``), in the groups' order, NaN
    where every value of the group is: ``Series.sum`` of each group (NaN as 0, numpy's own summation; its
    numbers bit for bit, tests/test_startup_figures.py), without a call through pandas per group."""
    codes = grouped.ngroup().to_numpy()
    order = np.argsort(codes, kind="stable")
    order = order[codes[order] >= 0]  # a row with a missing key is in no group, as in groupby
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    values = column.to_numpy(dtype=float)[order]
    missing = np.isnan(values)
    filled = np.where(missing, 0.0, values)
    return [
        np.nan if gap.all() else float(part.sum())
        for part, gap in zip(np.split(filled, bounds), np.split(missing, bounds), strict=True)
    ]


def cost_rollup(costs: pd.DataFrame, measurements: pd.DataFrame, *, tz: str, currencies: Currencies) -> pd.DataFrame:
    """Rollup rows (COST_ROLLUP_COLUMNS) of cost lines and measurements; amounts in the reporting currency."""
    parts: list[pd.DataFrame] = []
    if not costs.empty:
        converted = costs.assign(amount=currencies.convert(costs["amount"], costs["currency"]))
        spend = _keyed(spread_over_weeks(converted, "amount", tz))
        billed = spend["source"].isin(BILLED_SOURCES)
        gpu = spend["category"].fillna("").str.lower() == GPU_CATEGORY
        spend = spend.assign(
            billed_cost=spend["amount"].where(billed, 0.0),
            billed_lines=billed.astype(int),
            estimate_cost=spend["amount"].where(~billed, 0.0),
            estimate_lines=(~billed).astype(int),
            gpu_cost_billed=spend["amount"].where(billed & gpu),
            gpu_cost_estimate=spend["amount"].where(~billed & gpu),
        )
        grouped = spend.groupby(KEY)
        sums = grouped.agg(
            billed_cost=("billed_cost", "sum"),
            billed_lines=("billed_lines", "sum"),
            estimate_cost=("estimate_cost", "sum"),
            estimate_lines=("estimate_lines", "sum"),
        )
        for name in ("gpu_cost_billed", "gpu_cost_estimate"):
            sums[name] = _sums(grouped, spend[name])
        parts.append(sums)
    if not measurements.empty:
        measures = spread_over_weeks(measurements, "value", tz)
        gpu_hours = service_week_gpu(measures, key=tuple(KEY))
        if not gpu_hours.empty:
            gpu_hours = gpu_hours.assign(week_start=pd.to_datetime(gpu_hours["week_start"], utc=True))
            renamed = gpu_hours.rename(columns={"prov": "gpu_hours_provisioned", "used": "gpu_hours_used"})
            parts.append(renamed.set_index(KEY)[["gpu_hours_provisioned", "gpu_hours_used"]])
        measures = _keyed(measures)
        cpu = measures[measures["metric"] == "cpu_utilisation"]
        if not cpu.empty:
            weight = _hours(cpu).where(lambda h: h > 0, 1.0)
            cpu = cpu.assign(cpu_weighted=cpu["value"] * weight, cpu_hours=weight)
            parts.append(cpu.groupby(KEY)[["cpu_weighted", "cpu_hours"]].sum())
        cold = measures[measures["metric"] == "cold_start_seconds"]
        if not cold.empty:
            samples = cold.groupby(KEY)["value"].agg(lambda s: sorted(float(v) for v in s))  # type: ignore[type-var]
            parts.append(samples.rename("cold_start_seconds").to_frame())
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in COST_ROLLUP_COLUMNS})
    table = pd.concat(parts, axis=1).reset_index() if len(parts) > 1 else parts[0].reset_index()
    for name in SUMS:
        if name not in table:
            table[name] = np.nan
    for name in ("billed_lines", "estimate_lines"):
        table[name] = table[name].fillna(0).astype(int)
    for name in ("billed_cost", "estimate_cost"):
        table[name] = table[name].fillna(0.0)
    if "cold_start_seconds" not in table:
        table["cold_start_seconds"] = [[] for _ in range(len(table))]
    table["cold_start_seconds"] = table["cold_start_seconds"].map(lambda v: v if isinstance(v, list) else [])
    return table[COST_ROLLUP_COLUMNS].sort_values(KEY).reset_index(drop=True)


def _group(rows: pd.DataFrame, group_by: str) -> pd.Series:
    column = rows[group_by].replace("", np.nan)
    if group_by in ("service", "team"):
        column = column.where(rows["service"] != "", UNALLOCATED)
    grouped: pd.Series = column.fillna("unknown").astype(str)
    return grouped


def _p95(samples: pd.Series) -> pd.DataFrame:
    long = samples.explode().dropna().astype(float)
    grouped = long.groupby(level=[0, 1])
    return pd.DataFrame({"cold_start_p95_seconds": grouped.quantile(0.95), "cold_start_n": grouped.count()})


def weekly_from_cost_rollups(rows: pd.DataFrame, *, group_by: str) -> pd.DataFrame:
    """Weekly figures (week, group, COST_COLUMNS but cost_per_deployment) from rollup rows carrying the
    ``group_by`` column (team and cohort are joined by the caller). In a week with any billed line, the
    OpenCost estimate is left out, for every row of that week."""
    by = ["week", "group"]
    if rows.empty:
        return pd.DataFrame(columns=[*by, *COST_COLUMNS])
    billed_weeks = set(rows.loc[rows["billed_lines"] > 0, "week"])
    estimate = ~rows["week"].isin(billed_weeks)
    lines = rows["billed_lines"] + rows["estimate_lines"].where(estimate, 0)
    cost = (rows["billed_cost"] + rows["estimate_cost"].where(estimate, 0.0)).where(lines > 0)
    prov, used = rows["gpu_hours_provisioned"].astype(float), rows["gpu_hours_used"].astype(float)
    idle, source = _idle_gpu(rows, estimate, prov, used)
    work = pd.DataFrame(
        {
            "week": rows["week"],
            "group": _group(rows, group_by),
            "compute_cost": cost,
            "unallocated_cost": cost.where(rows["service"] == ""),
            "gpu_hours_provisioned": prov,
            "gpu_hours_used": used,
            "idle_gpu_cost": idle,
            "idle_gpu_source": source,
            "cpu_weighted": rows["cpu_weighted"].astype(float),
            "cpu_hours": rows["cpu_hours"].astype(float),
        }
    )
    grouped = work.groupby(by)
    table = grouped[["compute_cost", "unallocated_cost", "gpu_hours_provisioned", "gpu_hours_used"]].sum(min_count=1)
    table["idle_gpu_cost"] = grouped["idle_gpu_cost"].sum(min_count=1)
    table["idle_gpu_source"] = grouped["idle_gpu_source"].agg(_sources)
    cpu = grouped[["cpu_weighted", "cpu_hours"]].sum(min_count=1)
    table["cpu_utilisation"] = cpu["cpu_weighted"] / cpu["cpu_hours"].where(cpu["cpu_hours"] > 0)
    table = table.join(_p95(rows["cold_start_seconds"].set_axis(pd.MultiIndex.from_frame(work[by]))), how="left")
    table = table.reset_index()
    table = table[
        table[["compute_cost", "gpu_hours_provisioned", "cpu_utilisation"]].notna().any(axis=1)
        | table["cold_start_n"].fillna(0).gt(0)
    ]
    costed = table["compute_cost"].notna()
    table["unallocated_cost"] = table["unallocated_cost"].where(~costed, table["unallocated_cost"].fillna(0.0))
    denominator = table["compute_cost"].where(costed & (table["compute_cost"] != 0))
    table["unallocated_cost_share"] = table["unallocated_cost"] / denominator
    table["gpu_utilisation"] = table["gpu_hours_used"] / table["gpu_hours_provisioned"].where(
        table["gpu_hours_provisioned"] > 0
    )
    table["cost_per_deployment"] = np.nan
    table["cold_start_n"] = table["cold_start_n"].fillna(0).astype(int)
    return table[[*by, *COST_COLUMNS, "idle_gpu_source"]].sort_values(by).reset_index(drop=True)


def _sources(values: pd.Series) -> str | None:
    return " + ".join(sorted({str(v) for v in values.dropna()})) or None


def _idle_gpu(rows: pd.DataFrame, estimate: pd.Series, prov: pd.Series, used: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Idle GPU cost of each row, and where it comes from (``gpu``: FOCUS lines, OpenCost, cost lines).
    A service-week with FOCUS GPU spend (``focus_gpu_cost``, read with the rows by the GPU rule) takes its
    idle cost from it × (1 − the service-week's utilisation over all its platforms); its ``gpu`` category
    lines (OpenCost's estimate, a generic line) are then left out, never added. Elsewhere: ``gpu`` category
    spend × (1 − the row's utilisation), the OpenCost estimate only in a week without billed lines."""
    both = pd.concat([rows["gpu_cost_billed"], rows["gpu_cost_estimate"].where(estimate)], axis=1)
    category = both.sum(axis=1, min_count=1) * (1 - (used / prov.where(prov > 0)).clip(upper=1.0))
    category_source = pd.Series(
        np.where(rows["gpu_cost_billed"].notna(), gpu.COST_LINES, gpu.OPENCOST), index=rows.index
    ).where(category.notna())
    focus = rows["focus_gpu_cost"].astype(float) if "focus_gpu_cost" in rows else pd.Series(np.nan, index=rows.index)
    if focus.notna().sum() == 0:
        return category, category_source
    service_week = [rows["week"], rows["service"]]
    week_prov = prov.groupby(service_week).transform(lambda s: s.sum(min_count=1))
    week_used = used.groupby(service_week).transform(lambda s: s.sum(min_count=1))
    focus_idle = focus * (1 - (week_used / week_prov.where(week_prov > 0)).clip(upper=1.0))
    has_focus = focus.fillna(0).ne(0).groupby(service_week).transform("any").astype(bool)
    idle = focus_idle.where(has_focus, category)
    source = category_source.mask(has_focus & focus_idle.notna(), gpu.FOCUS_LINES)
    return idle, source.where(idle.notna())


def with_groups(rows: pd.DataFrame, teams: dict[str, Any], migrated: set[str]) -> pd.DataFrame:
    """Rollup rows with ``team`` (service → team) and ``cohort`` (migrated when the platform is a target)."""
    return with_cohort(rows, migrated).assign(
        team=rows["service"].map(lambda s: teams.get(s)),
    )


def cost_weekly(
    costs: pd.DataFrame,
    measurements: pd.DataFrame,
    *,
    tz: str,
    group_by: str,
    currencies: Currencies,
    focus_gpu: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per (week, group) with COST_COLUMNS (cost_per_deployment is filled by :func:`with_cost`):
    the rollup rows of these lines, joined with the FOCUS GPU spend (``gpu.focus_gpu_weekly``, on the same
    platforms as the lines) where given, then the figures of the rows — the very steps stored rollups take."""
    rows = cost_rollup(costs, measurements, tz=tz, currencies=currencies)
    if focus_gpu is not None:
        rows = gpu.with_focus_gpu(rows, focus_gpu)
    frames = [f for f in (costs, measurements) if not f.empty]
    teams = {s: t for f in frames for s, t in zip(f["service"], f["team"], strict=True) if s is not None and t}
    migrated = {p for f in frames for p, c in zip(f["platform"], f["cohort"], strict=True) if c == "migrated"}
    return weekly_from_cost_rollups(with_groups(rows, teams, migrated), group_by=group_by)
