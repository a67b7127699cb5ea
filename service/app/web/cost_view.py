"""What the cost page shows, as pure functions of the weekly cost figures (``service.figures.weekly.
cost_allocation``: each figure defined once in ``service.figures.cost.compute``) and the move dates.

Nothing here computes a figure anew: the page picks weeks and groups out of the figures' tables, and the
CSV is those same rows (``csv_rows``), so the page and its export cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

CSV_COLUMNS = [
    "week",
    "grouping",
    "group",
    "compute_cost",
    "unallocated_cost",
    "unallocated_cost_share",
    "idle_gpu_cost",
    "idle_gpu_source",
    "gpu_utilisation",
    "deployments",
    "cost_per_deployment",
    "currency",
]
"""The export's columns: one row per (week, grouping, group), the figures as the page reads them."""


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


@dataclass(frozen=True, slots=True)
class WeekRow:
    """One week of the whole organisation, with its cost by platform (for the bars)."""

    week: str
    cost: float | None
    by_platform: list[tuple[str, float]]
    unallocated_share: float | None
    idle_gpu_cost: float | None
    deployments: int
    idle_gpu_source: str | None
    cost_per_deployment: float | None
    moves: list[str] = field(default_factory=list)
    """The services that moved to the migration's target this week."""


@dataclass(frozen=True, slots=True)
class GroupRow:
    """A team or a service over the weeks shown: its cost in the last week and in all of them."""

    group: str
    last_week: float | None
    total: float | None
    idle_gpu_cost: float | None
    cost_per_deployment: float | None
    moved_in: str | None = None
    idle_gpu_source: str | None = None


@dataclass(frozen=True, slots=True)
class CostView:
    weeks: list[WeekRow]
    platforms: list[str]
    teams: list[GroupRow]
    services: list[GroupRow]
    largest_week: float
    """The largest weekly cost shown: the bars' full width."""

    @property
    def empty(self) -> bool:
        return all(w.cost is None for w in self.weeks)


def _in_weeks(frame: pd.DataFrame, weeks: list[str]) -> pd.DataFrame:
    return frame[frame["week"].isin(weeks)] if not frame.empty else frame


def _week_rows(tables: dict[str, pd.DataFrame], weeks: list[str], moves: dict[str, str]) -> list[WeekRow]:
    whole: dict[str, dict[Any, Any]] = {str(r["week"]): r for r in _in_weeks(tables["all"], weeks).to_dict("records")}
    platforms: dict[str, list[tuple[str, float]]] = {}
    for record in _in_weeks(tables["platform"], weeks).to_dict("records"):
        cost = _number(record["compute_cost"])
        if cost is not None:
            platforms.setdefault(str(record["week"]), []).append((str(record["group"]), cost))
    rows = []
    for week in weeks:
        figures = whole.get(week, {})
        rows.append(
            WeekRow(
                week=week,
                cost=_number(figures.get("compute_cost")),
                by_platform=sorted(platforms.get(week, [])),
                unallocated_share=_number(figures.get("unallocated_cost_share")),
                idle_gpu_cost=_number(figures.get("idle_gpu_cost")),
                deployments=int(figures.get("deployments") or 0),
                idle_gpu_source=_text(figures.get("idle_gpu_source")),
                cost_per_deployment=_number(figures.get("cost_per_deployment")),
                moves=sorted(s for s, moved in moves.items() if moved == week),
            )
        )
    return rows


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _sources(part: pd.DataFrame) -> str | None:
    """Where a group's idle GPU cost over the weeks comes from (``rollup._idle_gpu``'s words, joined)."""
    if "idle_gpu_source" not in part:
        return None
    found = {w for v in part["idle_gpu_source"] if (t := _text(v)) for w in t.split(" + ")}
    return " + ".join(sorted(found)) or None


def _sum(values: pd.Series) -> float | None:
    return float(values.sum()) if values.notna().any() else None


def _group_rows(table: pd.DataFrame, weeks: list[str], moves: dict[str, str] | None = None) -> list[GroupRow]:
    """Groups with any cost in the weeks shown, costliest over them first."""
    shown = _in_weeks(table, weeks)
    if shown.empty:
        return []
    last = shown[shown["week"] == weeks[-1]].set_index("group")
    rows = []
    for group, part in shown.groupby("group"):
        total = _sum(part["compute_cost"])
        if total is None:
            continue
        rows.append(
            GroupRow(
                group=str(group),
                last_week=_number(last.at[group, "compute_cost"]) if group in last.index else None,
                total=total,
                idle_gpu_cost=_sum(part["idle_gpu_cost"]),
                cost_per_deployment=_number(last.at[group, "cost_per_deployment"]) if group in last.index else None,
                moved_in=(moves or {}).get(str(group)),
                idle_gpu_source=_sources(part),
            )
        )
    return sorted(rows, key=lambda r: (-(r.total or 0.0), r.group))


def cost_view(tables: dict[str, pd.DataFrame], weeks: list[str], moves: dict[str, str]) -> CostView:
    """The page for ``weeks`` (oldest first) from the figures of every grouping; ``moves``: service → the
    week it moved to the migration's target."""
    rows = _week_rows(tables, weeks, moves)
    platforms = sorted({p for r in rows for p, _ in r.by_platform})
    return CostView(
        weeks=rows,
        platforms=platforms,
        teams=_group_rows(tables["team"], weeks),
        services=_group_rows(tables["service"], weeks, moves),
        largest_week=max((r.cost or 0.0 for r in rows), default=0.0),
    )


def csv_rows(tables: dict[str, pd.DataFrame], weeks: list[str], currency: str) -> list[dict[str, Any]]:
    """The export: every grouping's figures for ``weeks`` (group names are user text: the CSV writer
    neutralises formulas)."""
    out: list[dict[str, Any]] = []
    for grouping, table in tables.items():
        for record in _in_weeks(table, weeks).to_dict(orient="records"):
            if _number(record.get("compute_cost")) is None:
                continue
            out.append({**{c: record.get(c) for c in CSV_COLUMNS}, "grouping": grouping, "currency": currency})
    return sorted(out, key=lambda r: (r["week"], r["grouping"], str(r["group"])))
