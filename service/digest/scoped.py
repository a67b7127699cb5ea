"""The scorecard re-estimated for a part of the migration: some of its services (``?service=``, ``?team=``)
and a range of weeks (``?from=`` to the digest's week). Pure: a ``DigestInput`` over every service in, a
``ScorecardPart`` out.

The estimator (``service.effects.did``) is not changed: the panels are restricted before it is called.

- **Treated**: only the chosen services that moved. A moved service outside the choice is neither treated
  nor dropped: its weeks before its move stay as a not-yet-moved comparison (as the estimator uses every
  not-yet-moved service), its weeks from its move's week on are left out (weight 0). Controls are every
  eligible service, chosen or not.
- **Range**: a chosen service's weeks after its move and before ``first`` are left out, so the effect is
  the one over the range; the weeks before the move (its baseline) stay whole.

Too few chosen services moved, or too few weeks in the range: the estimator's own "not enough data yet".
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd

from service.core.weeks import week_start
from service.digest import content as digest_content
from service.digest import migration as migration_part
from service.digest.friction_effect import FRICTION
from service.digest.inputs import DigestInput
from service.digest.models import CostPart, MigrationPart, ScorecardPart
from service.digest.scorecard import scorecard
from service.effects import registry
from service.effects.panel import PanelInputs, PanelMetric, first_treated_week


def restricted_moves(data: DigestInput, chosen: Collection[str]) -> dict[str, datetime | None]:
    """Every service of the input, moved only when chosen (the others' post-move weeks are masked)."""
    return {s.slug: s.moved_at if s.slug in chosen else None for s in data.services}


def mask(panel: pd.DataFrame, data: DigestInput, chosen: Collection[str], first: date | None) -> pd.DataFrame:
    """``panel`` with the weeks the scoped estimate leaves out at weight 0 (value NaN): the weeks from the
    move's week on of a moved service not chosen, and a chosen service's weeks after its move before
    ``first``."""
    zone = ZoneInfo(data.tz)
    out = pd.Series(False, index=panel.index)
    weeks = pd.to_datetime(panel["week_start"]).dt.date
    for s in data.services:
        if s.moved_at is None:
            continue
        rows = panel["service"] == s.slug
        if s.slug not in chosen:
            out |= rows & (weeks >= week_start(s.moved_at, zone))
        elif first is not None:
            out |= rows & (weeks >= first_treated_week(s.moved_at, data.tz)) & (weeks < first)
    if not out.any():
        return panel
    return panel.assign(value=panel["value"].where(~out), weight=panel["weight"].where(~out, 0.0))


def _masked(metric: PanelMetric, data: DigestInput, chosen: Collection[str], first: date | None) -> PanelMetric:
    build: Callable[[PanelInputs], pd.DataFrame] = metric.build
    return replace(metric, build=lambda inputs: mask(build(inputs), data, chosen, first))


def scoped_effects(
    data: DigestInput, chosen: Collection[str], first: datetime | None
) -> list[migration_part.MetricEffect]:
    """Every metric's effect (the friction minutes last) restricted to ``chosen`` and the range from
    ``first``: ``content.effects_of`` over the masked panels."""
    monday = None if first is None else first.astimezone(ZoneInfo(data.tz)).date()
    metrics = (*registry.METRICS, *digest_content.with_data(data), FRICTION)
    scoped = replace(data, services=[replace(s, moved_at=None) if s.slug not in chosen else s for s in data.services])
    return digest_content.effects_of(scoped, tuple(_masked(m, data, chosen, monday) for m in metrics))


def scoped_scorecard(
    data: DigestInput,
    whole: MigrationPart,
    *,
    chosen: Collection[str],
    first: datetime | None,
    cost: CostPart | None,
) -> ScorecardPart:
    """The scorecard of the chosen services over the range; ``whole``: the digest's migration section (its
    effects and criteria are replaced by the scoped ones)."""
    results = scoped_effects(data, chosen, first)
    extra = migration_part.before_after([r for r in results if r.metric.key == FRICTION.key])
    results = [r for r in results if r.metric.key != FRICTION.key]
    moved = {s.slug for s in data.services if s.slug in chosen and s.moved_at is not None and s.moved_at < data.end}
    part = whole.model_copy(
        update={
            "before_after": digest_content.response_noted(
                migration_part.before_after(results),
                replace(data, services=[s for s in data.services if s.slug in chosen]),
            ),
            "criteria": migration_part.criteria(results, data.criteria, target_date=whole.target_date, now=data.now),
            "services_migrated": len(moved),
        }
    )
    return scorecard(part, extra=extra, cost=cost, assumptions=data.assumptions, currency=data.reporting_currency)
