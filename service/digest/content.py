"""What the digest says, as pure functions of DataFrames: numbers, and the sentences that state them.

Nothing here reads a database or renders anything; ``service.digest.build`` feeds it and the Slack,
HTML and JSON outputs render its result.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from service.core import vocab
from service.core.vocab import FLAT_CHANGE, MIGRATED, NOT_MIGRATED
from service.core.weeks import AVERAGE_WEEKS, LAST_WEEKS, average_window, last_weeks_start, week_instant
from service.digest import migration as migration_part
from service.digest import resources, series
from service.digest.friction_effect import FRICTION
from service.digest.inputs import DigestInput
from service.digest.models import (
    BeforeAfter,
    Category,
    Cohort,
    DigestContent,
    FrictionPart,
    HeadlineRow,
    MigrationPart,
    Resolution,
    RisingTheme,
    Warning,
)
from service.digest.render import number
from service.digest.scorecard import scorecard
from service.effects import did, dora_panels, registry
from service.effects.panel import PanelMetric
from service.effects.resource_panels import MEASUREMENTS
from service.figures.friction.themes import group as group_themes
from service.figures.metrics import compute, dora
from service.figures.metrics.rollup import weekly_from_rollups
from service.figures.pulse import compute as pulse

QUOTE_MAX_CHARS = 200


HEADLINE = ("deploys", "lead_time", "change_failure_rate", "time_to_restore", "incidents")
"""The headline's metrics, in order; each reads as its ``service.core.vocab`` entry says."""
DORA_FIELD = {"deploys": "deployment_frequency"}
"""Where a headline metric stands in a DORA summary (``dora.dora``), when the summary names it otherwise."""


def _value(summary: dict[str, Any], key: str) -> tuple[float | None, bool]:
    """(the headline number of a key, whether it is a low sample)."""
    part = summary[DORA_FIELD.get(key, key)]
    if key == "deploys":  # the week so far has no weekly rate (dora._frequency): its count, as for incidents
        shown = part["deployments"] if part["per_week"] is None else part["per_week"]
        return float(shown), bool(part["low_sample"])
    if key in ("lead_time", "time_to_restore"):
        seconds = part["median_seconds"]
        return (None if seconds is None else seconds / 3600.0), bool(part["low_sample"])
    if key == "change_failure_rate":
        return (None if part["rate"] is None else part["rate"] * 100.0), bool(part["low_sample"])
    return float(part["count"]), False


def _summary(data: DigestInput, start: datetime, end: datetime, cohort: str | None = None) -> dict[str, Any]:
    """The DORA keys over the weeks that start in [start, end) (``start`` a Monday; ``end`` a Monday, or
    the end of the week so far), from the rollups: the rules of ``dora.dora`` (``dora.from_rollups``); with
    ``cohort``, only the events of that cohort (the one rule: the platform an event ran on)."""
    rows = data.rollups
    inside = (rows["week_start"] >= pd.Timestamp(start)) & (rows["week_start"] < pd.Timestamp(end))
    if cohort is not None:
        inside &= rows["cohort"] == cohort
    return dora.from_rollups(rows[inside], weeks=(end - start) / timedelta(weeks=1), min_sample=data.min_sample)


def _direction(now: float | None, then: float | None) -> str:
    if now is None or then is None or then == 0:
        return "flat" if now == then else "new"
    change = now / then - 1
    return "up" if change > FLAT_CHANGE else "down" if change < -FLAT_CHANGE else "flat"


def _better(now: float | None, then: float | None, unit: str, lower_is_better: bool) -> bool | None:
    """True/False when ``now`` is better/worse than ``then`` by more than 5 % (and shows differently)."""
    if now is None or then is None or number(now, unit) == number(then, unit):
        return None
    direction = _direction(now, then)
    return None if direction in ("flat", "new") else (direction == "down") == lower_is_better


def headline(data: DigestInput) -> list[HeadlineRow]:
    week = _summary(data, data.start, data.until)
    previous = _summary(data, *average_window(data.start))
    baseline = None
    if data.migration:  # the whole weeks before the week the migration started
        begins = week_instant(data.migration["started_at"], data.tz)
        baseline = _summary(data, begins - timedelta(weeks=data.migration["baseline_weeks"]), begins)
    rows = []
    for key in HEADLINE:
        words = vocab.metric(key)
        unit, lower_is_better = words.unit, not words.higher_is_better
        now, low = _value(week, key)
        avg, _ = _value(previous, key)
        if key == "incidents" and avg is not None:
            avg = avg / AVERAGE_WEEKS
        base, _ = _value(baseline, key) if baseline else (None, False)
        if key == "incidents" and base is not None and data.migration:
            base = base / data.migration["baseline_weeks"]
        direction = "flat" if number(now, unit) == number(avg, unit) else _direction(now, avg)
        better = None if direction in ("flat", "new") else (direction == "down") == lower_is_better
        rows.append(
            HeadlineRow(
                key=key,
                label=words.chart_label,
                unit=unit,
                this_week=now,
                four_week_average=avg,
                baseline=base,
                direction=direction,
                better=better,
                vs_four_weeks=better,
                vs_baseline=_better(now, base, unit, lower_is_better),
                colour_by="baseline" if base is not None else "four_week_average",
                band=week[DORA_FIELD.get(key, key)].get("band"),
                low_sample=low,
            )
        )
    return rows


def _moves(data: DigestInput) -> dict[str, datetime | None]:
    return {s.slug: s.moved_at for s in data.services}


def effects_of(data: DigestInput, metrics: tuple[PanelMetric, ...] | None = None) -> list[migration_part.MetricEffect]:
    """The move's effect on each metric (every registered one by default), from the digest's own frames,
    with the migration's design (``Migration.design``: base weeks, minimum pre weeks, controls, scale)."""
    design = dict((data.migration or {}).get("design") or {})
    scale = design.pop("scale", None)
    return migration_part.effects(
        frames={dora_panels.WEEKLY: weekly_from_rollups(data.rollups, group_by="service"), **data.resource_frames},
        moves=_moves(data),
        tz=data.tz,
        environments=data.environments,
        start=data.history_start,
        end=data.end,
        now=data.now,
        metrics=registry.METRICS + with_data(data) if metrics is None else metrics,
        options=did.Options(cells=True, **design),
        scale=scale,
    )


def with_data(data: DigestInput) -> tuple[PanelMetric, ...]:
    """The declared metrics (``data.user_metrics``) the migration section judges: those with at least one
    measurement row for the audience's services, or a success criterion on them. A declared metric nobody
    measures (the pulse of an organisation that never turned it on) is not listed as "not enough data";
    one with some rows, however few, is (its detectable change stated)."""
    measurements = data.resource_frames.get(MEASUREMENTS)
    services = {s.slug for s in data.services}
    measured: set[str] = set()
    if measurements is not None and not measurements.empty:
        mine = measurements[measurements["service"].isin(services)]
        measured = set(mine["metric"].astype(str).unique())
    wanted = measured | {c.metric for c in data.criteria}
    return tuple(m for m in data.user_metrics if m.key in wanted)


def response_noted(items: list[BeforeAfter], data: DigestInput) -> list[BeforeAfter]:
    """The pulse's claim (and so its tile) says when weeks of low response were left out of it
    (``service.figures.pulse.compute.response_note``)."""
    measurements = data.resource_frames.get(MEASUREMENTS)
    if measurements is None or measurements.empty:
        return items
    mine = measurements[measurements["service"].isin({s.slug for s in data.services})]
    note = pulse.response_note(mine)
    if note is None:
        return items
    return [
        item.model_copy(update={"sentence": f"{item.sentence.rstrip('.')}; {note}."})
        if item.metric == pulse.METRIC
        else item
        for item in items
    ]


def migration(data: DigestInput) -> tuple[MigrationPart, list[BeforeAfter]] | None:
    """The migration section, and the effects the scorecard reads beyond it (friction minutes)."""
    if data.migration is None:
        return None
    moved = {s.slug for s in data.services if s.moved_at is not None and s.moved_at < data.end}
    four = last_weeks_start(data.start)
    rows = data.rollups
    recent = rows[(rows["week_start"] >= pd.Timestamp(four)) & (rows["week_start"] < pd.Timestamp(data.until))]
    cohorts = {}
    for name in (MIGRATED, NOT_MIGRATED):
        summary = _summary(data, four, data.until, name)
        cohorts[name] = Cohort(
            services=int(recent.loc[recent["cohort"] == name, "service"].nunique()),
            **{key: _value(summary, key)[0] for key in HEADLINE},
            low_sample=summary["deployment_frequency"]["low_sample"],
        )
    results = effects_of(data, (*registry.METRICS, *with_data(data), FRICTION))
    extra = migration_part.before_after([r for r in results if r.metric.key == FRICTION.key])
    results = [r for r in results if r.metric.key != FRICTION.key]
    target_date = data.migration.get("target_date")
    judged = migration_part.criteria(results, data.criteria, target_date=target_date, now=data.now)
    part = MigrationPart(
        name=data.migration["name"],
        services_total=len(data.services),
        services_migrated=len(moved),
        cohorts_over=f"the last {LAST_WEEKS} weeks",
        cohorts=cohorts,
        before_after=response_noted(migration_part.before_after(results), data),
        started_at=data.migration["started_at"],
        target_date=target_date,
        schedule=migration_part.schedule(len(moved), len(data.services), target_date, data.now),
        criteria=judged,
        criteria_changes=migration_part.change_notes(
            data.criteria_changes, {r.metric.key: r.metric.label for r in results}
        ),
    )
    return part, extra


def friction(data: DigestInput) -> FrictionPart:
    reports = data.week_rows.friction
    this = reports[(reports["created_at"] >= data.start) & (reports["created_at"] < data.end)]
    last = reports[(reports["created_at"] >= data.start - timedelta(weeks=1)) & (reports["created_at"] < data.start)]
    counts, previous = this["category"].value_counts(), last["category"].value_counts()
    top = [
        Category(
            category=str(category),
            title=data.taxonomy.title(str(category)),
            reports=int(count),
            last_week=int(previous.get(category, 0)),
        )
        for category, count in counts.sort_index().sort_values(ascending=False, kind="stable").head(3).items()
    ]
    resolved = reports[
        reports["status"].eq("resolved")
        & reports["resolved_at"].notna()
        & (reports["resolved_at"] >= data.start)
        & (reports["resolved_at"] < data.end)
        & reports["resolution_note"].notna()
    ]
    return FrictionPart(
        new=len(this),
        last_week=len(last),
        hours_lost=round(float(this["minutes_lost"].fillna(0).sum()) / 60, 1),
        top_categories=top,
        rising_themes=_rising(this, last, data),
        quotes=_quotes(this, data),
        you_said_we_did=[
            Resolution(
                id=int(row["id"]),
                text=str(row["text"])[:QUOTE_MAX_CHARS],
                note=str(row["resolution_note"])[:QUOTE_MAX_CHARS],
            )
            for row in resolved.sort_values("resolved_at").head(5).to_dict(orient="records")
        ],
    )


def _rising(this: pd.DataFrame, last: pd.DataFrame, data: DigestInput) -> list[RisingTheme]:
    if this.empty:
        return []
    frame = this.assign(votes=1)[["id", "text", "service", "category", "reporter", "votes", "minutes_lost"]]
    rising = []
    for theme in group_themes(frame):
        before = int((last["category"] == theme.category).sum())
        if theme.reports >= 2 and theme.reports > before:
            rising.append(
                RisingTheme(
                    title=data.taxonomy.title(theme.category),
                    service=theme.service,
                    reports=theme.reports,
                    example=theme.example[:QUOTE_MAX_CHARS],
                )
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


def warnings(data: DigestInput) -> list[Warning]:
    """Data-quality warnings over the digest's week, so "no data" is not read as "good news"."""
    frames = data.week_rows
    window = dora.Window(data.start, data.until)
    deployments = frames.deployments[window.mask(frames.deployments["finished_at"])]
    incidents = frames.incidents[window.mask(frames.incidents["started_at"])]
    found = compute.data_quality(deployments, frames.lead_times, incidents, environments=data.environments)
    return [Warning.model_validate(item) for item in found]


def build_content(data: DigestInput) -> DigestContent:
    headline_rows = headline(data)
    friction_part = friction(data)
    week = _summary(data, data.start, data.until)
    empty = (
        week["deployment_frequency"]["deployments"] == 0 and week["incidents"]["count"] == 0 and friction_part.new == 0
    )
    moved = migration(data) if not empty or _migration_has_data(data) else None
    migration_section = None if moved is None else moved[0]
    cost = resources.cost(data)  # a week without deploys or incidents may still be billed
    verdict: list[str] = []
    card = None
    if moved is not None:
        section, extra = moved
        verdict = migration_part.verdict(section.before_after, section.criteria, section.criteria_changes)
        card = scorecard(
            section,
            extra=extra,
            cost=cost,
            assumptions=data.assumptions,
            currency=data.reporting_currency,
        )
    return DigestContent(
        week=data.week,
        audience=data.audience,
        from_=data.start.isoformat(),
        to=data.end.isoformat(),
        partial=data.partial,
        week_label=f"{data.week} (week so far)" if data.partial else data.week,
        empty=empty,
        summary=_summary_line(headline_rows, friction_part, empty, data.partial),
        verdict=verdict,
        headline=headline_rows,
        migration=migration_section,
        friction=friction_part,
        charts=series.charts(data),
        warnings=warnings(data),
        definitions_version=dora.DEFINITIONS_VERSION,
        cost=cost,
        productivity=None if empty else resources.productivity(data),
        incident_categories=None if empty else resources.incident_categories(data),
        scorecard=card,
    )


def _migration_has_data(data: DigestInput) -> bool:
    """Whether the followed migration has anything to judge (weekly figures or any cost, measurement or
    work-item row): its section is shown then, whatever the week's own event counts."""
    return data.migration is not None and (
        not data.rollups.empty or any(not frame.empty for frame in data.resource_frames.values())
    )


def _summary_line(rows: list[HeadlineRow], friction_part: FrictionPart, empty: bool, partial: bool) -> str:
    when = "so far this week" if partial else "this week"
    if empty:
        if partial:
            return "Nothing recorded so far this week: no deployments, incidents or friction reports."
        return "A quiet week: no deployments, incidents or friction reports were recorded."
    deploys = next(r for r in rows if r.key == "deploys")
    incidents = next(r for r in rows if r.key == "incidents")
    if partial:
        return (
            f"Week so far: {deploys.this_week or 0:.0f} deploys, {incidents.this_week or 0:.0f} "
            f"incidents and {friction_part.new} friction reports."
        )
    return (
        f"{deploys.this_week or 0:.0f} deploys, {incidents.this_week or 0:.0f} incidents and "
        f"{friction_part.new} friction reports {when}."
    )
