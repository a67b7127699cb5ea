"""What the digest says, as pure functions of DataFrames: numbers, and the sentences that state them.

Nothing here reads a database or renders anything; ``service.digest.build`` feeds it and the Slack,
HTML and JSON outputs render its result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from service.digest.render import number
from service.digest.stats import relative_change
from service.friction.categorise import Taxonomy
from service.friction.themes import group as group_themes
from service.metrics import dora
from service.metrics.compute import production
from service.metrics.service import Frames

ALIGN_WEEKS = 8
"""Before/after a service's own move: up to this many weeks on each side."""
MIN_SERVICES = 3
QUOTE_MAX_CHARS = 200


@dataclass(frozen=True, slots=True)
class MigratedService:
    slug: str
    team: str | None
    moved_at: datetime | None
    """When it first ran on the migration's target platform; None: not migrated."""


@dataclass(frozen=True, slots=True)
class DigestInput:
    week: str
    start: datetime
    end: datetime
    audience: str
    frames: Frames
    services: list[MigratedService]
    migration: dict[str, Any] | None
    """name, started_at, baseline_weeks, to_platform — the migration the digest follows."""
    taxonomy: Taxonomy
    environments: frozenset[str]
    tz: str
    min_sample: int
    quote_min_reporters: int
    follow_up: timedelta = field(default=timedelta(hours=24))


HEADLINE = (
    # key, label, unit, lower is better
    ("deployment_frequency", "Deploys per week", "per week", False),
    ("lead_time", "Lead time (median)", "hours", True),
    ("change_failure_rate", "Change failure rate", "%", True),
    ("time_to_restore", "Time to restore (median)", "hours", True),
    ("incidents", "Incidents", "count", True),
)


def _value(summary: dict[str, Any], key: str) -> tuple[float | None, bool]:
    """(the headline number of a key, whether it is a low sample)."""
    part = summary[key]
    if key == "deployment_frequency":
        return float(part["per_week"]), bool(part["low_sample"])
    if key in ("lead_time", "time_to_restore"):
        seconds = part["median_seconds"]
        return (None if seconds is None else seconds / 3600.0), bool(part["low_sample"])
    if key == "change_failure_rate":
        return (None if part["rate"] is None else part["rate"] * 100.0), bool(part["low_sample"])
    return float(part["count"]), False


def _summary(data: DigestInput, start: datetime, end: datetime, services: set[str] | None = None) -> dict[str, Any]:
    frames = data.frames
    deployments, incidents = frames.deployments, frames.incidents
    lead_times = frames.lead_times
    if services is not None:
        deployments = deployments[deployments["service"].isin(services)]
        incidents = incidents[incidents["service"].isin(services)]
        lead_times = lead_times[lead_times["deployment_id"].isin(set(deployments["id"]))]
    return dora.dora(
        deployments,
        lead_times,
        incidents,
        window=dora.Window(start, end),
        environments=data.environments,
        tz=data.tz,
        min_sample=data.min_sample,
        follow_up=data.follow_up,
    )


def _direction(now: float | None, then: float | None) -> str:
    if now is None or then is None or then == 0:
        return "flat" if now == then else "new"
    change = now / then - 1
    return "up" if change > 0.05 else "down" if change < -0.05 else "flat"


def headline(data: DigestInput) -> list[dict[str, Any]]:
    week = _summary(data, data.start, data.end)
    previous = _summary(data, data.start - timedelta(weeks=4), data.start)
    baseline = None
    if data.migration:
        begins = data.migration["started_at"]
        baseline = _summary(data, begins - timedelta(weeks=data.migration["baseline_weeks"]), begins)
    rows = []
    for key, label, unit, lower_is_better in HEADLINE:
        now, low = _value(week, key)
        avg, _ = _value(previous, key)
        if key == "incidents" and avg is not None:
            avg = avg / 4
        base, _ = _value(baseline, key) if baseline else (None, False)
        if key == "incidents" and base is not None and data.migration:
            base = base / data.migration["baseline_weeks"]
        direction = "flat" if number(now, unit) == number(avg, unit) else _direction(now, avg)
        better = None if direction in ("flat", "new") else (direction == "down") == lower_is_better
        rows.append(
            {
                "key": key,
                "label": label,
                "unit": unit,
                "this_week": now,
                "four_week_average": avg,
                "baseline": base,
                "direction": direction,
                "better": better,
                "band": week[key].get("band"),
                "low_sample": low,
            }
        )
    return rows


def _per_week(frame: pd.DataFrame, moment: str, service: str, start: datetime, end: datetime) -> float:
    weeks = max((end - start) / timedelta(weeks=1), 1e-9)
    rows = frame[(frame["service"] == service) & (frame[moment] >= start) & (frame[moment] < end)]
    return len(rows) / weeks


def before_after(data: DigestInput) -> list[dict[str, Any]]:
    """Each migrated service compared with itself, before vs after its own move (up to ALIGN_WEEKS each
    side, and no later than this week's end), summed up with a bootstrap interval over services."""
    prod = production(data.frames.deployments, data.environments)
    succeeded = prod[prod["status"].eq("success")]
    pairs: dict[str, list[tuple[float, float]]] = {"deploys": [], "incidents": [], "lead_time": []}
    first_seen = data.frames.deployments.groupby("service")["finished_at"].min()
    for service in data.services:
        if service.moved_at is None or service.moved_at >= data.end or service.slug not in first_seen:
            continue
        # The before side starts where the service's data starts: empty weeks before its first event
        # (a new service, or data not sent yet) would fake an improvement.
        since = max(service.moved_at - timedelta(weeks=ALIGN_WEEKS), first_seen[service.slug].to_pydatetime())
        before = (since, service.moved_at)
        after = (service.moved_at, min(service.moved_at + timedelta(weeks=ALIGN_WEEKS), data.end))
        if min(before[1] - before[0], after[1] - after[0]) < timedelta(weeks=1):
            continue  # less than a week on either side says nothing yet
        pairs["deploys"].append(
            (
                _per_week(succeeded, "finished_at", service.slug, *before),
                _per_week(succeeded, "finished_at", service.slug, *after),
            )
        )
        pairs["incidents"].append(
            (
                _per_week(data.frames.incidents, "started_at", service.slug, *before),
                _per_week(data.frames.incidents, "started_at", service.slug, *after),
            )
        )
        lead = _lead_hours(data, service.slug, before), _lead_hours(data, service.slug, after)
        if lead[0] is not None and lead[1] is not None:
            pairs["lead_time"].append((lead[0], lead[1]))
    results = []
    for key, label, lower_is_better in (
        ("deploys", "Deploys per week", False),
        ("incidents", "Incidents per week", True),
        ("lead_time", "Lead time", True),
    ):
        change = relative_change(pairs[key], min_units=MIN_SERVICES)
        results.append(
            {
                "metric": key,
                "label": label,
                "before": change.before,
                "after": change.after,
                "relative": change.relative,
                "low": change.low,
                "high": change.high,
                "services": change.units,
                "verdict": change.verdict,
                "sentence": change.sentence(label, lower_is_better=lower_is_better),
            }
        )
    return results


def _lead_hours(data: DigestInput, service: str, window: tuple[datetime, datetime]) -> float | None:
    deployments = data.frames.deployments
    ids = set(deployments.loc[deployments["service"] == service, "id"])
    pairs = data.frames.lead_times
    pairs = pairs[
        pairs["deployment_id"].isin(ids) & (pairs["finished_at"] >= window[0]) & (pairs["finished_at"] < window[1])
    ]
    pairs = pairs[pairs["excluded"].isna()]
    hours = (pairs["finished_at"] - pairs["committed_at"]).dt.total_seconds() / 3600
    hours = hours[hours > 0]
    return float(hours.median()) if len(hours) >= data.min_sample else None


def migration(data: DigestInput) -> dict[str, Any] | None:
    if data.migration is None:
        return None
    moved = {s.slug for s in data.services if s.moved_at is not None and s.moved_at < data.end}
    rest = {s.slug for s in data.services} - moved
    four = data.start - timedelta(weeks=3)
    cohorts = {}
    for name, members in (("migrated", moved), ("not_migrated", rest)):
        summary = _summary(data, four, data.end, members)
        cohorts[name] = {
            "services": len(members),
            **{key: _value(summary, key)[0] for key, *_ in HEADLINE},
            "low_sample": summary["deployment_frequency"]["low_sample"],
        }
    return {
        "name": data.migration["name"],
        "services_total": len(data.services),
        "services_migrated": len(moved),
        "cohorts_over": "the last 4 weeks",
        "cohorts": cohorts,
        "before_after": before_after(data),
    }


def friction(data: DigestInput) -> dict[str, Any]:
    reports = data.frames.friction
    this = reports[(reports["created_at"] >= data.start) & (reports["created_at"] < data.end)]
    last = reports[(reports["created_at"] >= data.start - timedelta(weeks=1)) & (reports["created_at"] < data.start)]
    counts, previous = this["category"].value_counts(), last["category"].value_counts()
    top = [
        {
            "category": str(category),
            "title": data.taxonomy.title(str(category)),
            "reports": int(count),
            "last_week": int(previous.get(category, 0)),
        }
        for category, count in counts.sort_index().sort_values(ascending=False, kind="stable").head(3).items()
    ]
    resolved = reports[
        reports["status"].eq("resolved")
        & reports["resolved_at"].notna()
        & (reports["resolved_at"] >= data.start)
        & (reports["resolved_at"] < data.end)
        & reports["resolution_note"].notna()
    ]
    return {
        "new": len(this),
        "last_week": len(last),
        "hours_lost": round(float(this["minutes_lost"].fillna(0).sum()) / 60, 1),
        "top_categories": top,
        "rising_themes": _rising(this, last, data),
        "quotes": _quotes(this, data),
        "you_said_we_did": [
            {
                "id": int(row["id"]),
                "text": str(row["text"])[:QUOTE_MAX_CHARS],
                "note": str(row["resolution_note"])[:QUOTE_MAX_CHARS],
            }
            for row in resolved.sort_values("resolved_at").head(5).to_dict(orient="records")
        ],
    }


def _rising(this: pd.DataFrame, last: pd.DataFrame, data: DigestInput) -> list[dict[str, Any]]:
    if this.empty:
        return []
    frame = this.assign(votes=1)[["id", "text", "service", "category", "reporter", "votes", "minutes_lost"]]
    rising = []
    for theme in group_themes(frame):
        before = int((last["category"] == theme.category).sum())
        if theme.reports >= 2 and theme.reports > before:
            rising.append(
                {
                    "title": data.taxonomy.title(theme.category),
                    "service": theme.service,
                    "reports": theme.reports,
                    "example": theme.example[:QUOTE_MAX_CHARS],
                }
            )
    return rising[:3]


def _quotes(this: pd.DataFrame, data: DigestInput) -> list[str]:
    """One or two short reports, never from a team with fewer than ``quote_min_reporters`` reporters this
    week (a quote from a team of two names its author), and never with a name attached."""
    if this.empty:
        return []
    reporters = this.dropna(subset=["team"]).groupby("team")["reporter"].nunique()
    safe_teams = set(reporters[reporters >= data.quote_min_reporters].index)
    candidates = this[this["team"].isin(safe_teams) & (this["text"].str.len() <= QUOTE_MAX_CHARS)]
    candidates = candidates.sort_values(["minutes_lost", "id"], ascending=[False, True], na_position="last")
    return [str(text) for text in candidates["text"].head(2)]


def charts(data: DigestInput, weeks: int = 16) -> dict[str, Any]:
    """Weekly series for the HTML charts: deploys and incidents per cohort, friction by category."""
    start = data.start - timedelta(weeks=weeks - 1)
    labels = [(start + timedelta(weeks=i)) for i in range(weeks)]
    moved_at = {s.slug: s.moved_at for s in data.services}

    def migrated_by(service: str, moment: datetime) -> bool:
        moved = moved_at.get(service)
        return moved is not None and moved < moment

    def cohort_counts(frame: pd.DataFrame, moment: str) -> dict[str, list[int]]:
        result: dict[str, list[int]] = {"migrated": [], "not_migrated": []}
        for week_start in labels:
            week_end = week_start + timedelta(weeks=1)
            rows = frame[(frame[moment] >= week_start) & (frame[moment] < week_end)]
            migrated = rows["service"].map(lambda s, end=week_end: migrated_by(s, end)).astype(bool)
            result["migrated"].append(int(migrated.sum()))
            result["not_migrated"].append(int((~migrated).sum()))
        return result

    prod = production(data.frames.deployments, data.environments)
    reports = data.frames.friction
    recent = reports[reports["created_at"] >= data.start - timedelta(weeks=3)]
    recent = recent[recent["created_at"] < data.end]
    by_category = recent["category"].value_counts().head(8)
    return {
        "weeks": [w.strftime("%G-W%V") for w in labels],
        "deploys": cohort_counts(prod[prod["status"].eq("success")], "finished_at"),
        "incidents": cohort_counts(data.frames.incidents, "started_at"),
        "friction_by_category": {data.taxonomy.title(str(k)): int(v) for k, v in by_category.items()},
    }


def build_content(data: DigestInput) -> dict[str, Any]:
    headline_rows = headline(data)
    friction_part = friction(data)
    week = _summary(data, data.start, data.end)
    empty = (
        week["deployment_frequency"]["deployments"] == 0
        and week["incidents"]["count"] == 0
        and friction_part["new"] == 0
    )
    return {
        "week": data.week,
        "audience": data.audience,
        "from": data.start.isoformat(),
        "to": data.end.isoformat(),
        "empty": empty,
        "summary": _summary_line(headline_rows, friction_part, empty),
        "headline": headline_rows,
        "migration": migration(data),
        "friction": friction_part,
        "charts": charts(data),
        "definitions_version": dora.DEFINITIONS_VERSION,
    }


def _summary_line(rows: list[dict[str, Any]], friction_part: dict[str, Any], empty: bool) -> str:
    if empty:
        return "A quiet week: no deployments, incidents or friction reports were recorded."
    deploys = next(r for r in rows if r["key"] == "deployment_frequency")
    incidents = next(r for r in rows if r["key"] == "incidents")
    return (
        f"{deploys['this_week']:.0f} deploys, {incidents['this_week']:.0f} incidents and "
        f"{friction_part['new']} friction reports this week."
    )
