"""The digest's cost, productivity and incident-category sections, beside DORA: pure, from the frames
``service.digest.build`` loads (``DigestInput.resource_frames``), through the one definition of each
figure — ``service.figures.cost.rollup.cost_weekly`` for cost and utilisation, ``service.figures.work.summary`` for
support load, time to ship and incidents by category. Nothing here is an effect of the migration (the
migration section judges those); these are the week's figures against the four weeks before it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd

from service.core.weeks import AVERAGE_WEEKS, average_window, week_label
from service.digest.inputs import DigestInput
from service.digest.models import CostFigures, CostPart, IncidentCategories, PlatformCost, ProductivityPart
from service.effects import resource_panels as resources
from service.figures.cost.currency import Currencies
from service.figures.cost.rollup import cost_weekly
from service.figures.work.summary import work_summary

ALL = "all platforms"
UNKNOWN = "unknown"
"""Spend whose platform neither a tag nor the catalogue names: shown, but not counted as a platform."""
FIGURES = ("compute_cost", "unallocated_cost_share", "gpu_utilisation", "idle_gpu_cost", "cold_start_p95_seconds")


def _frame(data: DigestInput, name: str) -> pd.DataFrame | None:
    frame = data.resource_frames.get(name)
    return None if frame is None or frame.empty else frame


def _weeks(data: DigestInput) -> tuple[str, list[str]]:
    """The digest's week and the weeks of its average before it, as ISO labels."""
    starts = pd.Series([pd.Timestamp(data.start - timedelta(weeks=n)) for n in range(AVERAGE_WEEKS + 1)])
    labels = list(week_label(starts, data.tz))
    return labels[0], labels[1:]


def _figures(rows: pd.DataFrame) -> CostFigures | None:
    """One week's row, or the mean of several weeks' rows (each week counts once)."""
    if rows.empty:
        return None
    values: dict[str, Any] = {}
    for name in FIGURES:
        column = pd.to_numeric(rows[name], errors="coerce").dropna()
        values[name] = None if column.empty else float(column.mean())
    return CostFigures(**values)


def cost(data: DigestInput) -> CostPart | None:
    """Compute cost, its unallocated share, cost per platform (both platforms at once in the hybrid
    period), GPU utilisation, idle GPU cost and cold-start p95 for the digest's week and the 4 before."""
    costs, measurements = _frame(data, resources.COSTS), _frame(data, resources.MEASUREMENTS)
    if costs is None and measurements is None:
        return None
    empty_costs = pd.DataFrame(
        columns=["source", "service", "team", "platform", "category", "period_start", "period_end", "amount"]
        + ["currency", "cohort"]
    )
    empty_measures = pd.DataFrame(
        columns=["service", "team", "platform", "metric", "value", "unit", "period_start", "period_end", "cohort"]
    )
    costs = empty_costs if costs is None else costs
    measurements = empty_measures if measurements is None else measurements
    currencies = Currencies(reporting=data.reporting_currency)
    week, before = _weeks(data)

    def weekly(
        frame_costs: pd.DataFrame, frame_measures: pd.DataFrame, focus_gpu: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        for frame in (frame_costs, frame_measures):
            for column in ("team", "cohort"):
                if column not in frame:
                    frame[column] = None
        return cost_weekly(
            frame_costs, frame_measures, tz=data.tz, group_by="platform", currencies=currencies, focus_gpu=focus_gpu
        )

    focus = data.resource_frames.get(resources.FOCUS_GPU)
    if focus is not None and not focus.empty:
        key = ["week", "week_start", "service", "platform"]
        focus = focus.assign(platform=ALL).groupby(key, as_index=False).agg(focus_gpu_cost=("focus_gpu_cost", "sum"))
    total = weekly(costs.assign(platform=ALL), measurements.assign(platform=ALL), focus)
    by_platform = weekly(costs.assign(platform=costs["platform"].fillna(UNKNOWN)), measurements.iloc[0:0].copy())
    this = _figures(total[total["week"] == week])
    previous = _figures(total[total["week"].isin(before)])
    if this is None and previous is None:
        return None
    platforms = []
    for platform in sorted(set(by_platform["group"])):
        rows = by_platform[by_platform["group"] == platform]
        now_cost = rows.loc[rows["week"] == week, "compute_cost"].dropna()
        earlier = rows.loc[rows["week"].isin(before), "compute_cost"].dropna()
        platforms.append(
            PlatformCost(
                platform=platform,
                this_week=None if now_cost.empty else float(now_cost.sum()),
                four_week_average=None if earlier.empty else float(earlier.sum() / len(before)),
            )
        )
    running = [p.platform for p in platforms if p.this_week and p.platform != UNKNOWN]
    return CostPart(
        currency=data.reporting_currency,
        this_week=this,
        four_week_average=previous,
        by_platform=platforms,
        hybrid=len(running) >= 2,
        sentence=_hybrid_sentence(running, data.reporting_currency, platforms),
    )


def _hybrid_sentence(running: list[str], currency: str, platforms: list[PlatformCost]) -> str | None:
    if len(running) < 2:
        return None
    spend = ", ".join(f"{p} {c.this_week:,.0f} {currency}" for c in platforms if (p := c.platform) in running)
    return f"Hybrid period: {len(running)} platforms ran at once this week and were paid for at once ({spend})."


def _summary(data: DigestInput, start: Any, end: Any) -> dict[str, Any]:
    samples = _frame(data, resources.WORK_SAMPLES)
    tickets = _frame(data, resources.SUPPORT_TICKETS)
    incidents = _frame(data, resources.CLASSIFIED_INCIDENTS)
    empty_samples = pd.DataFrame(columns=["kind", "basis", "shipped_at", "done_at", "days"])
    empty_tickets = pd.DataFrame(columns=["key", "service", "opened_at", "resolved_at", "resolve_days"])
    empty_incidents = pd.DataFrame(columns=["service", "started_at", "category"])
    waiting = pd.DataFrame(columns=["key", "service", "age_days", "referenced"])
    return work_summary(
        empty_samples if samples is None else samples,
        waiting,
        empty_tickets if tickets is None else tickets,
        empty_incidents if incidents is None else incidents,
        [],
        start=start,
        end=end,
        now=data.now,
        min_sample=data.min_sample,
    )


def _friction_hours(data: DigestInput, start: Any, end: Any) -> float:
    reports = data.week_rows.friction
    inside = reports[(reports["created_at"] >= start) & (reports["created_at"] < end)]
    return round(float(inside["minutes_lost"].fillna(0).sum()) / 60, 1)


def productivity(data: DigestInput) -> ProductivityPart | None:
    """Infrastructure support tickets and their time to resolve, beside friction hours lost: the claim of
    engineering productivity rests on the trackers as well as on self-reports."""
    if _frame(data, resources.SUPPORT_TICKETS) is None and _frame(data, resources.WORK_SAMPLES) is None:
        return None
    earlier, _ = average_window(data.start)
    week = _summary(data, data.start, data.until)
    before = _summary(data, earlier, data.start)
    support, shipped = week["support"], week["time_to_ship"]
    return ProductivityPart(
        support_tickets=support["opened"],
        support_tickets_four_week_average=before["support"]["opened_per_week"],
        time_to_resolve_median_days=support["time_to_resolve"]["median_days"],
        time_to_resolve_four_week_median_days=before["support"]["time_to_resolve"]["median_days"],
        open_support_tickets=sum(int(v) for v in support["open_by_age"].values()),
        friction_hours_lost=_friction_hours(data, data.start, data.until),
        friction_hours_four_week_average=round(_friction_hours(data, earlier, data.start) / AVERAGE_WEEKS, 1),
        features_shipped=shipped["n"],
        time_to_ship_mean_days=shipped["mean_days"],
        time_to_ship_low_sample=bool(shipped["low_sample"]),
    )


def incident_categories(data: DigestInput) -> IncidentCategories | None:
    """Infrastructure-related incidents beside all incidents (``infra_incidents`` in the effects)."""
    if _frame(data, resources.CLASSIFIED_INCIDENTS) is None:
        return None
    week = _summary(data, data.start, data.until)["incidents"]
    before = _summary(data, *average_window(data.start))["incidents"]
    return IncidentCategories(
        total=week["total"],
        infrastructure=week["infrastructure"],
        application=week["application"],
        unknown=week["unknown"],
        total_four_week_average=before["total"] / AVERAGE_WEEKS,
        infrastructure_four_week_average=before["infrastructure"] / AVERAGE_WEEKS,
    )
