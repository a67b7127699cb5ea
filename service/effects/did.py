"""Did the migration cause the change? Staggered difference-in-differences (Callaway & Sant'Anna 2021), on
the metric's scale (``service.core.vocab.EffectScale``: ratio for counts and positive amounts, additive
for shares).

Pure numpy over a panel (``service.effects.panel``). The cells (``service.effects.cells``): for each cohort
g (services whose first week on the new platform is g) and week t, the moved services' change since their
base (their own last ``base_weeks`` weeks with data before g) against the same change of the services not
yet moved at t (never-moved ones, and later movers before their move) — never a service already on the new
platform, which is what biases two-way fixed effects under staggered adoption. With ``base_weeks=1`` and
the additive scale this is exactly Callaway & Sant'Anna's ATT(g, t) with base period g−1 (the test checks
it against ``diff-diff``).

The effect pools the post-move cells (each weighted by its treated services, or their exposure on the ratio
scale) and is stated relative to the counterfactual (what the moved services would have shown without the
move). Intervals are 90 %, from a bootstrap that resamples whole services within their cohort
(``matrix.strata``), widened for few services (``matrix.few_cluster_factor``); on the ratio scale they are
built on the log ratio, so a relative interval never goes below −100 %.

Before a claim: enough moved and comparison services and weeks, a pre-move window of at least ``pre_weeks``
weeks with data, and a sensitivity bound instead of a gate (``service.effects.sensitivity``): every claim
must hold with the moved services' pre-move drift (measured against the never-moved services where there
are enough) extrapolated after the move, its slope free to change by ``bound`` × itself, and it says up to
which bend it holds.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from service.core.vocab import EffectScale, PreTrendStatus, Verdict
from service.effects import cells, sensitivity
from service.effects.matrix import (
    Matrices,
    draws,
    few_cluster_factor,
    finite_or_none,
    interval,
    intervals,
    matrices,
)
from service.effects.naive import before_after
from service.effects.result import (
    BOUND,
    CONFIDENCE,
    DRIFT_WEEKS_AFTER,
    MIN_CONTROLS,
    MIN_PRE_WEEKS,
    MIN_TREATED,
    POWER_Z,
    PRE_WEEKS,
    PRETREND_CONFIDENCE,
    Effect,
    EventPoint,
    GroupTimeCell,
    Options,
    PreTrend,
)

__all__ = [
    "BOUND",
    "CONFIDENCE",
    "MIN_CONTROLS",
    "MIN_PRE_WEEKS",
    "MIN_TREATED",
    "PRE_WEEKS",
    "Effect",
    "EventPoint",
    "GroupTimeCell",
    "Options",
    "PreTrend",
    "att_gt",
    "before_after",
    "estimate",
]


def _designs(
    m: Matrices, options: Options, min_pre_weeks: int, back: int | None = None, *, never_before: bool = False
) -> list[cells.Design]:
    designs = []
    for g in _cohort_weeks(m):
        d = cells.design(
            m,
            g,
            scale=options.scale,
            base_weeks=options.base_weeks,
            horizon=options.horizon if back is None else back,
            controls=options.controls,
            min_pre_weeks=min_pre_weeks,
            never_before=never_before,
        )
        if d is not None:
            designs.append(d)
    return designs


def att_gt(
    panel: pd.DataFrame, first_treated: Mapping[str, date | None], options: Options | None = None
) -> pd.DataFrame:
    """The group-time effects themselves, one row per cohort and week: cohort (its first week), week,
    att (level, the panel's unit), relative (against the cell's counterfactual), treated, controls. Rows
    without treated or control services are left out."""
    options = options or Options()
    m = matrices(panel, first_treated)
    rows = []
    one = np.ones((1, len(m.services)))
    for d in _designs(m, options, min_pre_weeks=0):
        weight, effect, level, _before, cf = cells.per_cell([d], one, options.scale)[:, 0, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            att = effect / weight
            relative = level / cf - 1
        treated, controls = d.treated.sum(axis=0), d.control.sum(axis=0)
        for j, week in enumerate(d.weeks):
            rows.append(
                (m.weeks[d.g], m.weeks[week], float(att[j]), float(relative[j]), int(treated[j]), int(controls[j]))
            )
    return pd.DataFrame(rows, columns=["cohort", "week", "att", "relative", "treated", "controls"])


def _cohort_weeks(m: Matrices) -> list[int]:
    return sorted({int(x) for x in m.g if np.isfinite(x) and 0 < x < len(m.weeks)})


def estimate(panel: pd.DataFrame, first_treated: Mapping[str, date | None], options: Options | None = None) -> Effect:
    """The move's effect on the panel's metric. ``first_treated``: each service's first whole week on the
    new platform (``panel.treatment_weeks``); a service absent or None never moved.

    BLAS runs on one thread here: the matrices are small, and on busy shared cores a threaded BLAS spent
    4–5× longer synchronising than multiplying (bench/effects.py)."""
    options = options or Options()
    with _threadpools().limit(limits=1, user_api="blas"):
        return replace(_estimate(panel, first_treated, options), design=options, scale=options.scale)


@functools.cache
def _threadpools() -> ThreadpoolController:
    """The process's thread pools (BLAS's among them), found once: finding them reads every loaded shared
    library's details, 3 ms a call, which ``threadpool_limits`` paid on every estimate."""
    return ThreadpoolController()


def _estimate(panel: pd.DataFrame, first_treated: Mapping[str, date | None], options: Options) -> Effect:
    m = matrices(panel, first_treated)
    cohorts = _cohort_weeks(m)
    if not cohorts or not (m.valid.any(axis=1) & (m.g > min(cohorts))).any():
        # No service that had not moved yet, ever, with data: no comparison at all, so no cell has an
        # effect; a before/after is all there is.
        fallback = before_after(panel, first_treated, options)
        return fallback if fallback.treated else Effect("none", "not_enough_data", "few_treated", 0, 0, len(cohorts))
    back = max(options.horizon, options.pre_window)
    designs = _designs(m, options, options.min_pre_weeks, back, never_before=_drift_against_never_moved(m, options))
    k = draws(m.g, options.resamples, options.seed)
    horizon = max(options.horizon, DRIFT_WEEKS_AFTER)
    span = back + horizon + 1
    totals = np.zeros((len(cells.SUMS), k.shape[0], 2 + span))
    """Sums (``cells.SUMS``) per replicate over the cells after the move, then the same weighted by weeks
    since the last pre-move week (for the sensitivity's distance), then each week −back … +horizon (the
    drift's test reads ``DRIFT_WEEKS_AFTER`` weeks after the move; the event study shows ``options.horizon``)."""
    es_units = np.zeros(span, dtype=int)
    treated_units = np.zeros(len(m.services), dtype=bool)
    control_units = np.zeros(len(m.services), dtype=bool)
    post_weeks: set[int] = set()
    for chunk in cells.chunks(designs):
        since = np.concatenate([d.since for d in chunk])
        post = since >= 0
        reduce = np.hstack(
            [post[:, None], (post * (since + 1))[:, None], since[:, None] == np.arange(-back, horizon + 1)[None, :]]
        )
        totals += cells.reduced(chunk, k, options.scale, reduce.astype(float))
        for d in chunk:
            used = d.since >= 0
            treated_units |= d.treated[:, used].any(axis=1)
            control_units |= d.control[:, used].any(axis=1)
            post_weeks |= {int(e) for e in d.since[used]}
            inside = d.since <= horizon
            es_units[d.since[inside] + back] += d.treated[:, inside].sum(axis=0)
    effect = _summarise(
        options=options,
        treated=int(treated_units.sum()),
        controls=int(control_units.sum()),
        cohorts=len(cohorts),
        totals=totals,
        es_units=es_units,
        pre_cohorts=sum(bool((d.since < 0).any()) for d in designs),
        post_weeks=len(post_weeks),
    )
    if options.cells and effect.method == "staggered_did":
        effect = replace(effect, group_time=_group_time(m, designs, k, options))
    return effect


def _drift_against_never_moved(m: Matrices, options: Options) -> bool:
    """Whether the weeks before the move compare with the never-moved services (when at least
    ``min_controls`` of them have data): the services not yet moved share the movers' drift before their own
    move (teams that move are often the ones already improving), so against them the pre-move drift shows
    attenuated — while the comparison after the move turns more and more to the never-moved ones, which see
    all of it. The weeks after the move keep the design's comparison."""
    never = int((~np.isfinite(m.g) & m.valid.any(axis=1)).sum())
    return options.controls == "not_yet_treated" and never >= options.min_controls


def _theta(level: np.ndarray, cf: np.ndarray, effect: np.ndarray, weight: np.ndarray, scale: EffectScale) -> np.ndarray:
    """The effect on its model scale: the log ratio of observed to counterfactual, or the level ATT."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.log(level / cf) if scale == "ratio" else effect / weight
    return out


def _relative_interval(
    low: float | None, high: float | None, baseline: float, scale: EffectScale
) -> tuple[float | None, float | None]:
    """A model-scale interval as a relative one: exp − 1 on the ratio scale; over the counterfactual on
    the additive one, never below −100 % (a non-negative metric cannot fall further)."""
    if low is None or high is None:
        return None, None
    if scale == "ratio":
        return float(np.expm1(low)), float(np.expm1(high))
    if not (np.isfinite(baseline) and baseline > 0):
        return None, None
    return max(low / baseline, -1.0), max(high / baseline, -1.0)


def _summarise(
    *,
    options: Options,
    treated: int,
    controls: int,
    cohorts: int,
    totals: np.ndarray,
    es_units: np.ndarray,
    pre_cohorts: int,
    post_weeks: int,
) -> Effect:
    if not controls:
        missing = "few_treated" if treated < options.min_treated else "few_controls"
        return Effect("staggered_did", "not_enough_data", missing, treated, 0, cohorts, scale=options.scale)
    scale = options.scale
    weight, effect, level, before, cf = (totals[i, :, 0] for i in range(len(cells.SUMS)))
    with np.errstate(invalid="ignore", divide="ignore"):
        att, after, cf_mean, before_mean = effect / weight, level / weight, cf / weight, before / weight
        distance = (options.base_weeks - 1) / 2 + totals[0, 0, 1] / weight[0]
    theta = _theta(level, cf, effect, weight, scale)
    confidence = options.confidence
    widen = few_cluster_factor(max(min(treated, controls), 2), confidence, fitted=1)
    baseline = float(cf_mean[0])
    low, high = _relative_interval(*interval(theta[1:], theta[0], confidence, widen), baseline, scale)
    es = totals[:, :, 2:]
    back = es.shape[2] - max(options.horizon, DRIFT_WEEKS_AFTER) - 1
    pre, slope = _pre_trend(es[:, :, :back], es_units[:back], options, baseline)
    holds = _holds(pre, theta, slope, distance, options, widen)
    drift = _drift_through_move(es, back, float(theta[0]), options, baseline)
    reason = _no_claim_reason(
        options, treated=treated, controls=controls, post_weeks=post_weeks, baseline=baseline, pre=pre, low=low
    )
    verdict = _verdict(reason, low, high)
    if verdict == "changed" and not holds[0] and drift.seen:
        # a drift the weeks around the move show, extrapolated and bent up to the bound, could explain the
        # change: no claim — "diverging" where the pre-move drift alone is clear, else no clear change
        verdict, reason = (
            ("not_enough_data", "pre_trend_diverging") if pre.status == "diverging" else ("no_clear_change", None)
        )
    s_low, s_high = _relative_interval(*holds[1], baseline, scale)
    att_low, att_high = interval(att[1:], att[0], confidence, widen)
    after_low, after_high = interval(after[1:], after[0], confidence, widen)
    return Effect(
        method="staggered_did",
        verdict=verdict,
        reason=reason,
        treated=treated,
        controls=controls,
        cohorts=cohorts,
        before=finite_or_none(before_mean[0]),
        after=finite_or_none(after[0]),
        after_low=after_low,
        after_high=after_high,
        counterfactual=finite_or_none(cf_mean[0]),
        att=finite_or_none(att[0]),
        att_low=att_low,
        att_high=att_high,
        relative=finite_or_none(level[0] / cf[0] - 1) if cf[0] else None,
        low=low,
        high=high,
        mde_relative=_mde_relative(theta, baseline, widen, scale),
        pre_trend=replace(pre, cohorts=pre_cohorts if pre.status != "not_tested" else 0),
        event_study=_event_points(
            es[:, :, back - options.horizon : back + options.horizon + 1],
            es_units[back - options.horizon : back + options.horizon + 1],
            options,
            widen,
        ),
        post_weeks=post_weeks,
        scale=scale,
        sensitivity_low=s_low,
        sensitivity_high=s_high,
        sensitivity_bound=options.bound,
        breakdown=holds[2],
        drift_seen=drift.seen if pre.status != "not_tested" else None,
        drift_detectable=drift.detectable,
    )


def _holds(
    pre: PreTrend, theta: np.ndarray, slope: np.ndarray, distance: float, options: Options, widen: float
) -> tuple[bool, tuple[float | None, float | None], float | None]:
    """Whether the claim holds at the design's bound, the robust interval there (model scale), and the
    breakdown M̄."""
    if pre.status == "not_tested" or not np.isfinite(distance):
        return True, (None, None), None
    lo, hi = sensitivity.robust(theta, slope, distance, options.bound, options.confidence, widen)
    holds = lo is not None and hi is not None and (lo > 0 if theta[0] > 0 else hi < 0)
    return holds, (lo, hi), sensitivity.breakdown(theta, slope, distance, options.confidence, widen)


def _drift_through_move(
    es: np.ndarray, back: int, effect: float, options: Options, baseline: float
) -> sensitivity.Drift:
    """Whether the weeks before and after the move show a drift on the effect's side (the common slope of
    ``sensitivity.step_slopes``, one-sided at ``PRETREND_CONFIDENCE``), and the drift a week these weeks
    could detect (relative)."""
    events = np.arange(-back, es.shape[2] - back, dtype=float)
    slope = sensitivity.step_slopes(_event_theta(es, options.scale), es[0], events)
    drift = sensitivity.drift_seen(slope, effect, PRETREND_CONFIDENCE)
    if drift.detectable is None:
        return drift
    detectable, _ = _relative_interval(drift.detectable, drift.detectable, baseline, options.scale)
    return replace(drift, detectable=detectable)


def _mde_relative(theta: np.ndarray, baseline: float, widen: float, scale: EffectScale) -> float | None:
    """The smallest relative effect detected 80 % of the time: from the replicates' spread (more than ten
    finite ones needed), on the model scale; None without either."""
    finite = theta[1:][np.isfinite(theta[1:])]
    spread = float(np.std(finite)) if len(finite) > 10 else np.nan
    if scale == "ratio":
        return finite_or_none(np.expm1(POWER_Z * widen * spread))
    if not (np.isfinite(baseline) and baseline != 0):
        return None
    return finite_or_none(POWER_Z * widen * spread / abs(baseline))


def _event_theta(es: np.ndarray, scale: EffectScale) -> np.ndarray:
    weight, effect, level, _before, cf = es
    return _theta(level, cf, effect, weight, scale)


def _event_points(es: np.ndarray, es_units: np.ndarray, options: Options, widen: float) -> tuple[EventPoint, ...]:
    """The event study: each week's relative effect (None where no service counts) and its interval."""
    weight, _effect, _level, _before, cf = es
    theta = _event_theta(es, options.scale)
    ends = intervals(theta[1:], theta[0], options.confidence, widen)
    points = []
    for slot, (lo_t, hi_t) in enumerate(ends):
        baseline = float(cf[0, slot] / weight[0, slot]) if weight[0, slot] > 0 else np.nan
        lo_e, hi_e = _relative_interval(lo_t, hi_t, baseline, options.scale)
        centre, _ = _relative_interval(theta[0, slot], theta[0, slot], baseline, options.scale)
        value = finite_or_none(centre) if weight[0, slot] > 0 and centre is not None else None
        points.append(EventPoint(slot - options.horizon, value, lo_e, hi_e, int(es_units[slot])))
    return tuple(points)


def _pre_trend(es: np.ndarray, es_units: np.ndarray, options: Options, baseline: float) -> tuple[PreTrend, np.ndarray]:
    """The moved services' drift per week against the controls before the move (per replicate, model
    scale), over the pre-move weeks with data (``es``: weeks −back … −1); not tested with fewer than
    ``pre_weeks`` of them."""
    back = es.shape[2]
    theta = _event_theta(es, options.scale)
    weight = es[0]
    weeks = int(((weight[0] > 0) & np.isfinite(theta[0]) & (es_units > 0)).sum())
    slope = sensitivity.slopes(theta, weight, np.arange(-back, 0, dtype=float))
    if weeks < options.pre_weeks or not np.isfinite(slope[0]):
        return PreTrend("not_tested", weeks=weeks), np.zeros_like(slope)
    lo, hi = interval(slope[1:], slope[0], PRETREND_CONFIDENCE)
    diverging = lo is not None and hi is not None and not lo <= 0 <= hi
    est, _ = _relative_interval(slope[0], slope[0], baseline, options.scale)
    p_low, p_high = _relative_interval(lo, hi, baseline, options.scale)
    status: PreTrendStatus = "diverging" if diverging else "parallel"
    return PreTrend(status, None if est is None else float(est), p_low, p_high, weeks=weeks), np.nan_to_num(slope)


def _group_time(m: Matrices, designs: list[cells.Design], k: np.ndarray, options: Options) -> tuple[GroupTimeCell, ...]:
    """Every cell with its interval: the group-time table (cohort × week), each chunk's intervals in one
    quantile pass. Widened like the effect's, for the services that count in it."""
    widen = few_cluster_factor(
        max(min(int(np.isfinite(m.g).sum()), int((~np.isfinite(m.g)).sum())), 2), options.confidence, fitted=1
    )
    out = []
    for chunk in cells.chunks(designs):
        weight, effect, level, _before, cf = cells.per_cell(chunk, k, options.scale)
        with np.errstate(invalid="ignore", divide="ignore"):
            att = np.where(weight > 0, effect / weight, np.nan)
            baselines = np.where(weight[0] > 0, cf[0] / weight[0], np.nan)
        theta = _theta(level, cf, effect, weight, options.scale)
        att_ends = intervals(att[1:], att[0], options.confidence, widen)
        theta_ends = intervals(theta[1:], theta[0], options.confidence, widen)
        treated = np.hstack([d.treated.sum(axis=0) for d in chunk])
        controls = np.hstack([d.control.sum(axis=0) for d in chunk])
        cohort = np.concatenate([np.full(len(d.weeks), d.g) for d in chunk])
        weeks = np.concatenate([d.weeks for d in chunk])
        for c in range(len(weeks)):
            low, high = _relative_interval(*theta_ends[c], float(baselines[c]), options.scale)
            rel, _ = _relative_interval(theta[0, c], theta[0, c], float(baselines[c]), options.scale)
            out.append(
                GroupTimeCell(
                    m.weeks[int(cohort[c])],
                    m.weeks[int(weeks[c])],
                    int(weeks[c] - cohort[c]),
                    finite_or_none(att[0, c]),
                    *att_ends[c],
                    None if rel is None else finite_or_none(rel),
                    low,
                    high,
                    int(treated[c]),
                    int(controls[c]),
                )  # fmt: skip
            )
    return tuple(out)


def _no_claim_reason(
    options: Options,
    *,
    treated: int,
    controls: int,
    post_weeks: int,
    baseline: float,
    pre: PreTrend,
    low: float | None,
) -> str | None:
    """Why the data make no claim (the first rule broken, in this order), or None when they can."""
    rules = (
        (treated < options.min_treated, "few_treated"),
        (controls < options.min_controls, "few_controls"),
        (post_weeks < 1, "few_weeks"),
        (not (np.isfinite(baseline) and baseline > 0), "no_baseline"),
        (pre.status == "not_tested", "pre_trend_untested"),
        (low is None, "few_treated"),
    )
    return next((reason for broken, reason in rules if broken), None)


def _verdict(reason: str | None, low: float | None, high: float | None) -> Verdict:
    """No claim when there is a reason; otherwise a change when the interval excludes 0."""
    if reason or low is None or high is None:
        return "not_enough_data"
    return "no_clear_change" if low <= 0 <= high else "changed"
