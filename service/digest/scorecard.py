"""The scorecard: one tile per category of the migration article (deployment velocity, resource
utilisation, engineering productivity, feature delivery) plus cost and stability, and the net line in
money under them. Pure: the digest's effects and cost part in, ``ScorecardPart`` out.

This module is the one mapping from a category to the metrics it reads, the tiles' order and their
``data-scorecard`` keys; every renderer (the app, the HTML digest, Slack, JSON) shows what it builds.
A tile reads its effects through their fields (relative estimate, interval, verdict); the estimator's
sensitivity caveat is shown when the lead effect carries one (``ScorecardTile.sensitivity``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.digest import colour
from service.digest.models import (
    BeforeAfter,
    CostPart,
    CriterionResult,
    DigestContent,
    MigrationPart,
    ScorecardKey,
    ScorecardMetric,
    ScorecardPart,
    ScorecardTile,
)
from service.digest.net import Assumptions, Source, net_line
from service.figures.pulse import compute as pulse


@dataclass(frozen=True, slots=True)
class TileSpec:
    key: ScorecardKey
    title: str
    metrics: tuple[str, ...]
    """The metrics it reads, the lead first: the first of them with an estimate leads the tile."""


FRICTION_MINUTES = "friction_minutes"
"""The effect on minutes lost to friction per service-week (``service.digest.friction_effect``)."""

TILES: tuple[TileSpec, ...] = (
    TileSpec("velocity", "Deployment velocity", ("deploys", "lead_time")),
    TileSpec("utilisation", "Resource utilisation", ("gpu_utilisation", "cold_start_p95")),
    TileSpec("productivity", "Engineering productivity", ("support_tickets", FRICTION_MINUTES, pulse.METRIC)),
    TileSpec("delivery", "Feature delivery", ("time_to_ship",)),
    TileSpec("cost", "Cost", ("compute_cost",)),
    TileSpec(
        "stability",
        "Stability",
        ("change_failure_rate", "time_to_restore", "infra_incidents", "incidents", "app_incidents"),
    ),
)
"""The tiles, in the order shown, each with its ``data-scorecard`` key and its metrics."""

EVENTS: dict[ScorecardKey, tuple[str, str]] = {
    "velocity": ("deployments", "Deployments behind it"),
    "stability": ("incidents", "Incidents behind it"),
    "productivity": ("friction", "Friction reports behind it"),
}
"""The events behind a tile (``/events/<kind>`` in the app): its drill-down."""

METRIC_EVENTS: dict[str, str] = {
    "deploys": "deployments",
    "lead_time": "deployments",
    "change_failure_rate": "deployments",
    "time_to_restore": "incidents",
    "incidents": "incidents",
    "infra_incidents": "incidents",
    "app_incidents": "incidents",
    FRICTION_MINUTES: "friction",
}
"""The events behind a claim or a chart's bars of a metric (``/events/<kind>``); a metric not here has none
listed (costs, measurements)."""

NET_SOURCES: dict[str, Source] = {
    "cost": Source("cost", "Compute cost", "compute_cost"),
    "friction": Source("friction", "Time lost to friction", FRICTION_MINUTES),
    "support": Source("support", "Infrastructure support tickets", "support_tickets"),
    "incidents": Source("incidents", "Infrastructure incidents", "infra_incidents"),
}
"""The effect each part of the net line is taken from."""


def _has_estimate(item: BeforeAfter) -> bool:
    return item.verdict != "not_enough_data" and item.relative is not None


def _criterion(metrics: tuple[str, ...], criteria: list[CriterionResult]) -> CriterionResult | None:
    for key in metrics:
        for criterion in criteria:
            if criterion.metric == key:
                return criterion
    return None


def _shown(item: BeforeAfter) -> dict[str, Any]:
    """An effect as a tile and its other metrics show it: which metric, its verdict, interval, colour
    (``colour.effect_tone``) and sentence (the relative estimate is ``relative`` or a tile's ``estimate``)."""
    return {
        "metric": item.metric,
        "label": item.label,
        "verdict": item.verdict,
        "low": item.low,
        "high": item.high,
        "tone": colour.effect_tone(item.verdict, item.relative, item.higher_is_better),
        "sentence": item.sentence,
    }


def _metric(item: BeforeAfter) -> ScorecardMetric:
    return ScorecardMetric(relative=item.relative, **_shown(item))


NET_ANCHOR = "#net-line"
"""Where the evidence of an effect the migration section does not list (friction minutes) is: the net line."""


def tile(
    spec: TileSpec, items: Mapping[str, BeforeAfter], criteria: list[CriterionResult], claimed: set[str]
) -> ScorecardTile:
    """A category's tile: its lead effect (the first of its metrics with an estimate, else the first it
    has), the others it reads, and its success criterion; its evidence is the claim of its lead metric when
    the migration section lists it (``claimed``), else the net line."""
    present = [items[key] for key in spec.metrics if key in items]
    lead = next((item for item in present if _has_estimate(item)), present[0] if present else None)
    criterion = _criterion(spec.metrics, criteria)
    judged = {
        "criterion_status": None if criterion is None else criterion.status,
        "criterion_goal": None if criterion is None else (criterion.goal or criterion.label),
    }
    others = [_metric(item) for item in present if item is not lead]
    if lead is None:
        return ScorecardTile(
            key=spec.key,
            title=spec.title,
            metric=spec.metrics[0],
            label=spec.title,
            verdict="not_enough_data",
            estimate=None,
            low=None,
            high=None,
            tone="neutral",
            sentence="No data yet for this category.",
            evidence=f"#claim-{spec.metrics[0]}",
            **judged,
        )
    return ScorecardTile(
        key=spec.key,
        title=spec.title,
        estimate=lead.relative,
        mde_relative=lead.mde_relative,
        sensitivity=lead.caveat,
        others=others,
        **_shown(lead),
        **judged,
        evidence=f"#claim-{lead.metric}" if lead.metric in claimed else NET_ANCHOR,
    )


def scorecard(
    migration: MigrationPart,
    *,
    extra: list[BeforeAfter],
    cost: CostPart | None,
    assumptions: Assumptions,
    currency: str,
) -> ScorecardPart:
    """The tiles and the net line from the migration's effects (``extra``: effects the scorecard reads
    beyond ``migration.before_after``, such as friction minutes) and the week's cost by platform."""
    items = {item.metric: item for item in [*migration.before_after, *extra]}
    return ScorecardPart(
        tiles=[tile(spec, items, migration.criteria, {i.metric for i in migration.before_after}) for spec in TILES],
        net=net_line(
            items,
            sources=NET_SOURCES,
            services=migration.services_migrated,
            assumptions=assumptions,
            currency=currency,
            platforms=[] if cost is None else cost.by_platform,
            hybrid=False if cost is None else cost.hybrid,
        ),
        legend=colour.LEGEND,
        effects=extra,
    )


def rescore(content: DigestContent, assumptions: Assumptions, currency: str) -> DigestContent:
    """The same digest with its scorecard valued at ``assumptions`` (an admin changed them since it was
    kept): the effects are the kept ones, only the arithmetic is redone."""
    if content.migration is None or content.scorecard is None:
        return content
    kept = content.scorecard.effects
    part = scorecard(content.migration, extra=kept, cost=content.cost, assumptions=assumptions, currency=currency)
    return content.model_copy(update={"scorecard": part})
