"""Generated worlds with a known truth, for tests and the bench: services that move at staggered weeks,
a calendar trend every service shares, and an effect of the move chosen in advance.

Pure and seeded. Three kinds of weekly metric cover the shapes real ones take: a ``count`` (deploys or
incidents per week: Poisson), a ``duration`` (the week's median of lognormal samples, weighted by their
number: lead time, time to restore, time to ship) and a ``rate`` (a binomial share weighted by its trials:
change failure rate, GPU utilisation). New worlds — cost +12 %, GPU utilisation ×2, time to ship 47 → 11
days — are one ``World(...)`` each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np
import pandas as pd

START = date(2026, 1, 5)
"""A Monday."""


@dataclass(frozen=True, slots=True)
class World:
    kind: Literal["count", "duration", "rate", "amount"]
    level: float
    """Mean per week (count), median (duration) or share (rate) of a typical service at week 0."""
    trend: float = 0.0
    """Calendar change per week, multiplicative, for every service (0.02: +2 % a week)."""
    effect: float = 1.0
    """What the move multiplies the level by (1.0: no effect; 2.0: twice the deploys)."""
    services: int = 12
    movers: int = 6
    weeks: int = 40
    first_move: int = 14
    last_move: int = 30
    spread: float = 0.3
    """Between-service differences in level (sd of a log-normal factor)."""
    samples_per_week: float = 5.0
    """Events a duration or a rate is taken from each week."""
    duration_sigma: float = 0.6
    amount_sigma: float = 0.1
    """Week-to-week noise of an ``amount`` (a service's weekly compute bill: lognormal, weight 1)."""
    diverging: float = 0.0
    """Extra trend per week of the services that will move, before and after the move: breaks parallel
    trends, so the pre-trend test must block a claim."""
    season: float = 0.0
    """Amplitude of a yearly season every service shares (multiplicative: 0.2 is ±20 %)."""
    ar: float = 0.0
    """AR(1) coefficient of each service's own week-to-week wobble (multiplicative, log scale)."""
    wobble: float = 0.0
    """Standard deviation of that wobble's weekly innovations (log scale); 0 for none."""

    @property
    def true_relative(self) -> float:
        return self.effect - 1.0


def move_weeks(world: World) -> list[int]:
    if world.movers <= 1:
        return [world.first_move] * world.movers
    step = (world.last_move - world.first_move) / (world.movers - 1)
    return [round(world.first_move + i * step) for i in range(world.movers)]


def generate(world: World, seed: int) -> tuple[pd.DataFrame, dict[str, date | None]]:
    """(panel, first treated week per service)."""
    rng = np.random.default_rng(seed)
    moves = move_weeks(world)
    t = np.arange(world.weeks)
    names = [f"svc-{i:02d}" for i in range(world.services)]
    rows: list[pd.DataFrame] = []
    first: dict[str, date | None] = {}
    for i, name in enumerate(names):
        moved = moves[i] if i < world.movers else None
        first[name] = None if moved is None else START + timedelta(weeks=moved)
        factor = rng.lognormal(0.0, world.spread)
        mean = world.level * factor * (1 + world.trend) ** t * np.exp(world.season * np.sin(2 * np.pi * t / 52))
        if world.wobble:
            mean = mean * np.exp(_ar1(rng, world.ar, world.wobble, world.weeks))
        if moved is not None:
            mean = mean * (1 + world.diverging) ** t * np.where(t >= moved, world.effect, 1.0)
        value, weight = _draw(world, rng, mean)
        rows.append(
            pd.DataFrame(
                {
                    "service": name,
                    "week_start": [START + timedelta(weeks=int(w)) for w in t],
                    "value": value,
                    "weight": weight,
                }
            )
        )
    return pd.concat(rows, ignore_index=True), first


def _ar1(rng: np.random.Generator, coefficient: float, sd: float, n: int) -> np.ndarray:
    """A stationary AR(1) series: x_t = a·x_{t−1} + e_t, started from its stationary spread."""
    shocks = rng.normal(0.0, sd, n)
    out = np.empty(n)
    out[0] = shocks[0] / np.sqrt(max(1 - coefficient**2, 1e-9))
    for week in range(1, n):
        out[week] = coefficient * out[week - 1] + shocks[week]
    return out


def _draw(world: World, rng: np.random.Generator, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if world.kind == "count":
        return rng.poisson(mean).astype(float), np.ones(len(mean))
    if world.kind == "amount":
        return mean * rng.lognormal(0.0, world.amount_sigma, size=len(mean)), np.ones(len(mean))
    n = rng.poisson(world.samples_per_week, size=len(mean))
    if world.kind == "rate":
        share = np.clip(mean, 0, 1)
        failed = rng.binomial(n, share)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, failed / np.maximum(n, 1), np.nan), n.astype(float)
    value = np.full(len(mean), np.nan)
    for week, count in enumerate(n):
        if count:
            value[week] = np.median(rng.lognormal(np.log(mean[week]), world.duration_sigma, size=count))
    return value, n.astype(float)


NULL_WORLDS: dict[str, World] = {
    # The issue's skeptical leader: deploys rise with the calendar, incidents fall, the move does nothing.
    "deploys": World("count", 3.0, trend=0.025),
    "lead_time": World("duration", 30.0, trend=-0.015),
    "change_failure_rate": World("rate", 0.15, trend=-0.01),
    "time_to_restore": World("duration", 4.0, trend=-0.01, samples_per_week=2.0),
    "incidents": World("count", 1.5, trend=-0.02),
    # Issue 14: prices creep up, GPU utilisation drifts, cold starts shorten with every release.
    "compute_cost": World("amount", 1000.0, trend=0.005),
    "gpu_utilisation": World("rate", 0.25, trend=0.005, samples_per_week=60.0),
    "cold_start_p95": World("amount", 14.0, trend=-0.005, amount_sigma=0.2),
    # Issue 15: tooling gets better for everyone; tickets and incidents ebb with the season.
    "time_to_ship": World("duration", 47.0, trend=-0.005, samples_per_week=2.0, duration_sigma=0.4),
    "support_tickets": World("count", 4.0, trend=-0.01),
    "infra_incidents": World("count", 1.5, trend=-0.01),
    "app_incidents": World("count", 1.0, trend=-0.01),
}
"""Per metric: a calendar trend and no effect. The digest must say "no clear change"."""

EFFECT_WORLDS: dict[str, World] = {
    "deploys": World("count", 3.0, trend=0.025, effect=2.0),
    "lead_time": World("duration", 30.0, trend=-0.015, effect=0.4),
    "change_failure_rate": World("rate", 0.15, trend=-0.01, effect=0.5),
    "time_to_restore": World("duration", 4.0, trend=-0.01, effect=0.6, samples_per_week=2.0),
    "incidents": World("count", 1.5, trend=-0.02, effect=0.5),
    "compute_cost": World("amount", 1000.0, trend=0.005, effect=1.12),
    "gpu_utilisation": World("rate", 0.25, trend=0.005, samples_per_week=60.0, effect=2.0),
    "cold_start_p95": World("amount", 14.0, trend=-0.005, amount_sigma=0.2, effect=0.4),
    "time_to_ship": World("duration", 47.0, trend=-0.005, samples_per_week=2.0, duration_sigma=0.4, effect=11 / 47),
    "support_tickets": World("count", 4.0, trend=-0.01, effect=0.5),
    "infra_incidents": World("count", 1.5, trend=-0.01, effect=1 / 3),
    "app_incidents": World("count", 1.0, trend=-0.01, effect=1.5),
}
"""Per metric: the same calendar and a known effect. The interval must contain it."""

ARTICLE_WORLDS: dict[str, dict[str, World]] = {
    # Issue 14: migrated services cost +12 % and use their GPUs twice as well.
    "cost_and_gpu": {
        "compute_cost": EFFECT_WORLDS["compute_cost"],
        "gpu_utilisation": EFFECT_WORLDS["gpu_utilisation"],
    },
    # Issue 15: features ship in 11 days instead of 47, infrastructure incidents fall by two thirds, and
    # application incidents stay flat (the twin the move must not be credited with).
    "ship_and_incidents": {
        "time_to_ship": EFFECT_WORLDS["time_to_ship"],
        "infra_incidents": EFFECT_WORLDS["infra_incidents"],
        "app_incidents": NULL_WORLDS["app_incidents"],
    },
}
"""The issues' worked examples: several metrics of the same services, moving at the same weeks."""

ISSUE_WORLDS: dict[str, World] = {
    # Issue 27, at a realistic size: 12 services, 8 moving at staggered weeks, 26 weeks.
    # Infrastructure incidents fall by two thirds, 0.6 → 0.2 a week per service.
    "sparse_drop": World(
        "count", 0.6, effect=1 / 3, services=12, movers=8, weeks=26, first_move=8, last_move=18,
        trend=-0.01, season=0.15, ar=0.5, wobble=0.1,
    ),
    # No effect at 0.3 a week, with a calendar trend, a season and AR(1) wobble.
    "sparse_null": World(
        "count", 0.3, services=12, movers=8, weeks=26, first_move=8, last_move=18,
        trend=-0.01, season=0.15, ar=0.5, wobble=0.1,
    ),
    # Time to ship −70 % while the moving teams were already drifting −0.5 % a week.
    "drift_effect": World(
        "duration", 47.0, effect=0.3, diverging=-0.005, services=12, movers=8, weeks=26, first_move=8,
        last_move=18, trend=-0.005, samples_per_week=2.0, duration_sigma=0.4,
    ),
    # No effect; the moving teams drift −3 % a week before the move and go on drifting after it: the
    # counterfactual bends away from the comparison's at the move, which a plain DiD reads as an effect.
    "bend_null": World(
        "duration", 47.0, diverging=-0.03, services=12, movers=8, weeks=26, first_move=8,
        last_move=18, trend=-0.005, samples_per_week=2.0, duration_sigma=0.4,
    ),
}  # fmt: skip
"""The issue's measurements (bench/effects.py prints how often each is claimed and covered)."""
