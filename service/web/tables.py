"""What the services pages show, as pure functions of the weekly table (from rollups) and the catalogue.

Before/after per service: the up-to-8 whole weeks before the week it moved, against the up-to-8 whole weeks
after it (the week of the move itself is mixed and left out; the current, unfinished week never counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from service.timeutil import as_utc

SIDE_WEEKS = 8
METRICS = (
    # key, label, unit, lower is better
    ("deploys", "Deploys / week", "per week", False),
    ("lead_time", "Lead time", "hours", True),
    ("cfr", "Change failure rate", "%", True),
    ("incidents", "Incidents / week", "per week", True),
)


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    slug: str
    team: str | None
    tier: str | None
    platform: str | None
    moved_at: datetime | None


def week_label(moment: datetime, tz: str) -> str:
    year, week, _ = as_utc(moment).astimezone(ZoneInfo(tz)).isocalendar()
    return f"{year}-W{week:02d}"


def _side(weeks: pd.DataFrame, labels: list[str]) -> dict[str, float | None]:
    rows = weeks[weeks["week"].isin(labels)]
    n = len(labels)
    completed = float(rows["completed_deployments"].sum())
    lead = rows["lead_time_median_seconds"].dropna()
    return {
        "deploys": float(rows["deployments"].sum()) / n if n else None,
        "lead_time": float(lead.median()) / 3600 if len(lead) else None,
        "cfr": float(rows["failed_deployments"].sum()) / completed * 100 if completed else None,
        "incidents": float(rows["incidents"].sum()) / n if n else None,
    }


def before_after(
    facts: ServiceFacts, weekly: pd.DataFrame, *, now: datetime, tz: str
) -> dict[str, dict[str, float | None]] | None:
    """metric → {before, after, relative} for a moved service with at least one whole week on each side."""
    if facts.moved_at is None:
        return None
    this_week = week_label(now, tz)
    moved_week = week_label(facts.moved_at, tz)
    before = [week_label(facts.moved_at - timedelta(weeks=k), tz) for k in range(SIDE_WEEKS, 0, -1)]
    after = [week_label(facts.moved_at + timedelta(weeks=k), tz) for k in range(1, SIDE_WEEKS + 1)]
    after = [w for w in after if w < this_week and w != moved_week]
    mine = weekly[weekly["group"] == facts.slug]
    first = mine["week"].min() if len(mine) else None
    before = [w for w in before if first is not None and w >= first]
    if not before or not after:
        return None
    sides = _side(mine, before), _side(mine, after)
    result = {}
    for key, *_ in METRICS:
        b, a = sides[0][key], sides[1][key]
        relative = a / b - 1 if a is not None and b else None
        result[key] = {"before": b, "after": a, "relative": relative}
    return result


def service_rows(facts: list[ServiceFacts], weekly: pd.DataFrame, *, now: datetime, tz: str) -> list[dict[str, Any]]:
    return [{"facts": f, "change": before_after(f, weekly, now=now, tz=tz)} for f in facts]


SORTS = {"service", "team", "platform", "moved", *(key for key, *_ in METRICS)}


def sort_rows(rows: list[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    """Sort by a column; rows without a value go last either way."""

    def value(row: dict[str, Any]) -> Any:
        facts: ServiceFacts = row["facts"]
        if key == "service":
            return facts.slug
        if key in ("team", "platform"):
            return getattr(facts, key)
        if key == "moved":
            return facts.moved_at
        change = row["change"]
        return None if change is None else change[key]["relative"]

    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    return sorted(present, key=value, reverse=descending) + missing


def filter_rows(rows: list[dict[str, Any]], *, team: str | None, platform: str | None, q: str | None) -> list[Any]:
    out = []
    for row in rows:
        facts: ServiceFacts = row["facts"]
        if team and facts.team != team:
            continue
        if platform and facts.platform != platform:
            continue
        if q and q.lower() not in facts.slug.lower():
            continue
        out.append(row)
    return out
