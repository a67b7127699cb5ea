"""Did the migration cause the change? Staggered difference-in-differences (Callaway & Sant'Anna 2021).

Pure numpy over a panel (``service.effects.panel``). For each cohort g (services whose first week on the
new platform is g) and week t:

    ATT(g, t) = [mean over g of  Y(t) − Ȳ(pre g)] − [mean over controls of  Y(t) − Ȳ(pre g)]

where Ȳ(pre g) is a service's own (weighted) mean over the ``base_weeks`` weeks before g, and the controls
are the services not yet moved at t (never-moved ones, and later movers before their move) — never a
service already on the new platform, which is what biases two-way fixed effects under staggered
adoption. With ``base_weeks=1`` this is exactly Callaway & Sant'Anna's ATT(g,t) with base period g−1; a
longer base averages out weekly noise and stays unbiased under the same parallel-trends assumption.

The effect is the average of the post-move ATT(g, t), each weighted by its number of treated services,
and stated relative to the treated services' counterfactual mean (what they would have shown without
the move: observed minus ATT). Intervals are 90 %, from a bootstrap that resamples whole services
(stratified: ever-moved and never-moved services separately), computed as matrix products so that
every replicate is one pass.

Checks before a claim: enough moved and comparison services and weeks; a placebo (pre-trend) test on
the weeks before each move; with no comparison services at all a before/after is given and labelled so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from service.effects.matrix import Matrices, draws, few_cluster_factor, finite_or_none, interval, matrices, window_mean

CONFIDENCE = 0.90
PRETREND_CONFIDENCE = 0.95
"""The placebo test blocks a claim when its 95 % interval excludes zero (a test that errs 1 time in 20)."""
RESAMPLES = 999
SEED = 20261201
BASE_WEEKS = 8
HORIZON = 8
"""The event study runs from −HORIZON to +HORIZON weeks since the move."""
MIN_TREATED = 3
MIN_CONTROLS = 2
MIN_PRE_WEEKS = 2
PLACEBO_PRE_WEEKS = 4
"""A cohort needs this many weeks before its move to take part in the placebo test."""
POWER_Z = 1.645 + 0.842
"""A minimum detectable effect at 80 % power for a two-sided 90 % interval: (z₀.₉₅ + z₀.₈) standard errors."""

Verdict = Literal["changed", "no_clear_change", "not_enough_data"]
Method = Literal["staggered_did", "before_after", "none"]


@dataclass(frozen=True, slots=True)
class Options:
    base_weeks: int = BASE_WEEKS
    horizon: int = HORIZON
    controls: Literal["not_yet_treated", "never_treated"] = "not_yet_treated"
    resamples: int = RESAMPLES
    seed: int = SEED
    confidence: float = CONFIDENCE
    min_treated: int = MIN_TREATED
    min_controls: int = MIN_CONTROLS
    min_pre_weeks: int = MIN_PRE_WEEKS
    """A moved service takes part only with this many weeks of data before its move."""


@dataclass(frozen=True, slots=True)
class PreTrend:
    status: Literal["parallel", "diverging", "not_tested"]
    estimate: float | None = None
    """Late-minus-early pre-move difference, treated minus controls, relative to the treated pre mean."""
    low: float | None = None
    high: float | None = None
    cohorts: int = 0


@dataclass(frozen=True, slots=True)
class EventPoint:
    week: int
    """Weeks since the move: 0 is the first week on the new platform."""
    relative: float | None
    low: float | None
    high: float | None
    services: int


@dataclass(frozen=True, slots=True)
class Effect:
    """What the data says about the move's effect on one metric (values in the panel's unit)."""

    method: Method
    verdict: Verdict
    reason: str | None
    """Why there is no claim: few_treated, few_controls, few_weeks, no_baseline (nothing before the move to
    compare with), pre_trend_diverging, pre_trend_untested."""
    treated: int
    controls: int
    cohorts: int
    before: float | None = None
    """The moved services' mean before their move."""
    after: float | None = None
    """Their mean after it (observed)."""
    after_low: float | None = None
    after_high: float | None = None
    counterfactual: float | None = None
    """What they would have shown after the move without it (after − att)."""
    att: float | None = None
    att_low: float | None = None
    att_high: float | None = None
    relative: float | None = None
    low: float | None = None
    high: float | None = None
    mde_relative: float | None = None
    """The smallest relative effect these data would detect 80 % of the time."""
    pre_trend: PreTrend = field(default_factory=lambda: PreTrend("not_tested"))
    event_study: tuple[EventPoint, ...] = ()
    post_weeks: int = 0


@dataclass(frozen=True, slots=True)
class _Cells:
    """ATT(g, t) of one cohort for the weeks ``first`` … last and every replicate (rows): the att, the
    treated count, level and pre-move level, and (services × those weeks) the treated and control masks.
    Weeks more than ``horizon`` before the move are not needed and are not computed."""

    first: int
    att: np.ndarray
    n_t: np.ndarray
    level: np.ndarray
    pre_level: np.ndarray
    treated: np.ndarray
    control: np.ndarray


def _cohort(m: Matrices, g: int, base: np.ndarray, members: np.ndarray, k: np.ndarray, options: Options) -> _Cells:
    """ATT(g, t) for the weeks from ``g − horizon`` on and every replicate (rows of ``k``); the treated
    side multiplies only the cohort's own columns of ``k``."""
    n_weeks = len(m.weeks)
    first = max(0, g - options.horizon)
    t_idx = np.arange(first, n_weeks)
    y = m.y[:, first:]
    d = np.where(m.valid[:, first:], y - base[:, None], np.nan)
    ok = np.isfinite(d)
    d0 = np.nan_to_num(d)
    treated = members[:, None] & ok
    if options.controls == "never_treated":
        control = np.repeat((~np.isfinite(m.g))[:, None], len(t_idx), axis=1)
    else:
        control = m.g[:, None] > np.maximum(t_idx, g)[None, :]
    control = control & ok & np.isfinite(base)[:, None]
    own = np.flatnonzero(members)
    k_own = k[:, own]
    width = len(t_idx)
    treated_parts = k_own @ np.hstack(
        [treated[own], treated[own] * d0[own], treated[own] * np.nan_to_num(y[own]), treated[own] * base[own, None]]
    )
    eligible = np.flatnonzero(control.any(axis=1))  # only services that are a control some week
    control_parts = k[:, eligible] @ np.hstack([control[eligible], control[eligible] * d0[eligible]])
    n_t = treated_parts[:, :width]
    n_c = control_parts[:, :width]
    with np.errstate(invalid="ignore", divide="ignore"):
        att = treated_parts[:, width : 2 * width] / n_t - control_parts[:, width:] / n_c
        level = treated_parts[:, 2 * width : 3 * width] / n_t
        pre_level = treated_parts[:, 3 * width :] / n_t
    return _Cells(first, att, n_t, level, pre_level, treated, control)


def att_gt(
    panel: pd.DataFrame, first_treated: Mapping[str, date | None], options: Options | None = None
) -> pd.DataFrame:
    """The group-time effects themselves, one row per cohort and week: cohort (its first week), week,
    att, treated, controls. Rows without treated or control services are left out."""
    options = options or Options()
    m = matrices(panel, first_treated)
    ones = np.ones((1, len(m.services)))
    rows = []
    for g in sorted({int(x) for x in m.g if np.isfinite(x) and 0 < x < len(m.weeks)}):
        base = window_mean(m, max(0, g - options.base_weeks), g)
        members = (m.g == g) & np.isfinite(base)
        cells = _cohort(m, g, base, members, ones, options)
        for j in range(cells.att.shape[1]):
            if np.isfinite(cells.att[0, j]):
                week = m.weeks[cells.first + j]
                treated, controls = int(cells.treated[:, j].sum()), int(cells.control[:, j].sum())
                rows.append((m.weeks[g], week, float(cells.att[0, j]), treated, controls))
    return pd.DataFrame(rows, columns=["cohort", "week", "att", "treated", "controls"])


def estimate(panel: pd.DataFrame, first_treated: Mapping[str, date | None], options: Options | None = None) -> Effect:
    """The move's effect on the panel's metric. ``first_treated``: each service's first whole week on the
    new platform (``panel.treatment_weeks``); a service absent or None never moved.

    BLAS runs on one thread here: the matrices are small, and on busy shared cores a threaded BLAS spent
    4–5× longer synchronising than multiplying (bench/effects.py)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _estimate(panel, first_treated, options or Options())


def _estimate(panel: pd.DataFrame, first_treated: Mapping[str, date | None], options: Options) -> Effect:
    m = matrices(panel, first_treated)
    n_weeks = len(m.weeks)
    cohorts = sorted({int(x) for x in m.g if np.isfinite(x) and 0 < x < n_weeks})
    k = draws(m.g, options.resamples, options.seed)
    b = k.shape[0]
    horizon = options.horizon
    span = 2 * horizon + 1
    t_idx = np.arange(n_weeks)
    post_n = np.zeros(b)
    sums = {name: np.zeros(b) for name in ("att", "after", "before")}
    es_num, es_cf, es_den = np.zeros((b, span)), np.zeros((b, span)), np.zeros((b, span))
    es_units = np.zeros(span, dtype=int)
    placebo_num, placebo_level, placebo_den = np.zeros(b), np.zeros(b), np.zeros(b)
    placebo_cohorts = 0
    treated_units: set[int] = set()
    control_units: set[int] = set()
    post_weeks: set[int] = set()
    for g in cohorts:
        lo = max(0, g - options.base_weeks)
        base = window_mean(m, lo, g)
        pre_weeks = m.valid[:, lo:g].sum(axis=1)
        members = (m.g == g) & np.isfinite(base) & (pre_weeks >= options.min_pre_weeks)
        if not members.any():
            continue
        cells = _cohort(m, g, base, members, k, options)
        first = cells.first
        weeks_since = t_idx[first:] - g
        cell = np.isfinite(cells.att) & (cells.n_t > 0)
        weight = np.where(cell, cells.n_t, 0.0)
        att0 = np.where(cell, cells.att, 0.0)
        level0 = np.where(cell, cells.level, 0.0)
        post_weight = weight * (weeks_since >= 0)
        post_n += post_weight.sum(axis=1)
        sums["att"] += (att0 * post_weight).sum(axis=1)
        sums["after"] += (level0 * post_weight).sum(axis=1)
        sums["before"] += (np.where(cell, cells.pre_level, 0.0) * post_weight).sum(axis=1)
        used = cell[0] & (weeks_since >= 0)
        if used.any():
            treated_units |= set(np.flatnonzero(cells.treated[:, used].any(axis=1)))
            control_units |= set(np.flatnonzero(cells.control[:, used].any(axis=1)))
            post_weeks |= {int(e) for e in weeks_since[used]}
        # the event study: weeks −horizon … +horizon since the move are contiguous slots
        inside = slice(0, int(np.searchsorted(weeks_since, horizon, side="right")))
        slots = slice(int(weeks_since[0]) + horizon, int(weeks_since[inside.stop - 1]) + horizon + 1)
        es_num[:, slots] += att0[:, inside] * weight[:, inside]
        es_cf[:, slots] += (level0 - att0)[:, inside] * weight[:, inside]
        es_den[:, slots] += weight[:, inside]
        es_units[slots] += np.where(cell[0, inside], cells.treated[:, inside].sum(axis=0), 0)
        if g - lo >= PLACEBO_PRE_WEEKS:
            half = lo + (g - lo) // 2
            early, late = window_mean(m, lo, half), window_mean(m, half, g)
            change = late - early
            fine = np.isfinite(change)
            p_t = members & fine
            p_c = (m.g > g) & fine if options.controls == "not_yet_treated" else ~np.isfinite(m.g) & fine
            if p_t.any() and p_c.any():
                placebo_cohorts += 1
                c0 = np.nan_to_num(change)
                nt, nc = k @ p_t, k @ p_c
                with np.errstate(invalid="ignore", divide="ignore"):
                    diff = (k @ (p_t * c0)) / nt - (k @ (p_c * c0)) / nc
                    lvl = (k @ (p_t * np.nan_to_num(base))) / nt
                good = np.isfinite(diff) & np.isfinite(lvl)
                placebo_num += np.where(good, diff * nt, 0)
                placebo_level += np.where(good, lvl * nt, 0)
                placebo_den += np.where(good, nt, 0)
    has_data = m.valid.any(axis=1)
    comparable = bool(cohorts) and bool((has_data & (m.g > min(cohorts))).any())
    return _summarise(
        options=options,
        has_controls=bool(control_units),
        comparable=comparable,
        treated=len(treated_units),
        controls=len(control_units),
        cohorts=len(cohorts),
        post_n=post_n,
        sums=sums,
        es=(es_num, es_cf, es_den, es_units),
        placebo=(placebo_num, placebo_level, placebo_den, placebo_cohorts),
        post_weeks=len(post_weeks),
        panel=panel,
        first_treated=first_treated,
    )


def _summarise(
    *,
    options: Options,
    has_controls: bool,
    comparable: bool,
    treated: int,
    controls: int,
    cohorts: int,
    post_n: np.ndarray,
    sums: dict[str, np.ndarray],
    es: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    placebo: tuple[np.ndarray, np.ndarray, np.ndarray, int],
    post_weeks: int,
    panel: pd.DataFrame,
    first_treated: Mapping[str, date | None],
) -> Effect:
    if not comparable:
        # No service that had not moved yet, ever, with data: a before/after is all there is.
        fallback = before_after(panel, first_treated, options)
        if fallback.treated:
            return fallback
        return Effect("none", "not_enough_data", "few_treated", treated, 0, cohorts)
    if not has_controls:
        missing = "few_treated" if treated < options.min_treated else "few_controls"
        return Effect("staggered_did", "not_enough_data", missing, treated, 0, cohorts)
    with np.errstate(invalid="ignore", divide="ignore"):
        att = sums["att"] / post_n
        after = sums["after"] / post_n
        before = sums["before"] / post_n
        cf = after - att
        rel = att / cf
    level = options.confidence
    widen = few_cluster_factor(max(min(treated, controls), 2), level, fitted=1)
    att_low, att_high = interval(att[1:], att[0], level, widen)
    low, high = interval(rel[1:], rel[0], level, widen)
    after_low, after_high = interval(after[1:], after[0], level, widen)
    spread = np.nanstd(att[1:]) if np.isfinite(att[1:]).sum() > 10 else np.nan
    mde = finite_or_none(POWER_Z * widen * spread / abs(cf[0])) if np.isfinite(cf[0]) and cf[0] != 0 else None
    es_num, es_cf, es_den, es_units = es
    points = []
    with np.errstate(invalid="ignore", divide="ignore"):
        es_rel = es_num / es_cf
    for slot in range(es_num.shape[1]):
        lo_e, hi_e = interval(es_rel[1:, slot], es_rel[0, slot], level, widen)
        value = finite_or_none(es_rel[0, slot]) if es_den[0, slot] > 0 else None
        points.append(EventPoint(slot - options.horizon, value, lo_e, hi_e, int(es_units[slot])))
    p_num, p_level, p_den, p_cohorts = placebo
    if p_cohorts:
        with np.errstate(invalid="ignore", divide="ignore"):
            p_rel = p_num / p_level
        p_low, p_high = interval(p_rel[1:], p_rel[0], PRETREND_CONFIDENCE, widen)
        diverging = p_low is not None and p_high is not None and not p_low <= 0 <= p_high
        pre = PreTrend("diverging" if diverging else "parallel", finite_or_none(p_rel[0]), p_low, p_high, p_cohorts)
    else:
        pre = PreTrend("not_tested")
    reason: str | None = None
    if treated < options.min_treated:
        reason = "few_treated"
    elif controls < options.min_controls:
        reason = "few_controls"
    elif post_weeks < 1:
        reason = "few_weeks"
    elif not (np.isfinite(cf[0]) and cf[0] > 0):
        reason = "no_baseline"
    elif pre.status == "diverging":
        reason = "pre_trend_diverging"
    elif pre.status == "not_tested":
        reason = "pre_trend_untested"
    elif low is None or high is None:
        reason = "few_treated"
    verdict: Verdict = "not_enough_data" if reason else ("no_clear_change" if low <= 0 <= high else "changed")  # type: ignore[operator]
    return Effect(
        method="staggered_did",
        verdict=verdict,
        reason=reason,
        treated=treated,
        controls=controls,
        cohorts=cohorts,
        before=finite_or_none(before[0]),
        after=finite_or_none(after[0]),
        after_low=after_low,
        after_high=after_high,
        counterfactual=finite_or_none(cf[0]),
        att=finite_or_none(att[0]),
        att_low=att_low,
        att_high=att_high,
        relative=finite_or_none(rel[0]),
        low=low,
        high=high,
        mde_relative=mde,
        pre_trend=pre,
        event_study=tuple(points),
        post_weeks=post_weeks,
    )


def before_after(
    panel: pd.DataFrame, first_treated: Mapping[str, date | None], options: Options | None = None
) -> Effect:
    """No comparison group: each moved service's mean after its move against its own ``base_weeks``
    before, bootstrapped over services. Not an effect — the calendar is not taken out."""
    options = options or Options()
    m = matrices(panel, first_treated)
    n_weeks = len(m.weeks)
    rows = []
    for i, g in enumerate(m.g):
        if np.isfinite(g) and 0 < g < n_weeks:
            gi = int(g)
            before = window_mean(m, max(0, gi - options.base_weeks), gi)[i]
            after = window_mean(m, gi, n_weeks)[i]
            if np.isfinite(before) and np.isfinite(after):
                rows.append((before, after))
    data = np.array(rows, dtype=float).reshape(-1, 2)
    units = len(data)
    if units < options.min_treated:
        return Effect("before_after", "not_enough_data", "few_treated", units, 0, 0)
    if data[:, 0].mean() <= 0:
        after_mean = float(data[:, 1].mean())
        return Effect("before_after", "not_enough_data", "no_baseline", units, 0, 0, before=0.0, after=after_mean)
    rng = np.random.default_rng(options.seed)
    picks = rng.integers(0, units, size=(options.resamples, units))
    means = data[picks].mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = means[:, 1] / means[:, 0] - 1
    before, after = float(data[:, 0].mean()), float(data[:, 1].mean())
    widen = few_cluster_factor(max(units, 2), options.confidence, fitted=1)
    low, high = interval(ratios, after / before - 1, options.confidence, widen)
    after_low, after_high = interval(means[:, 1], after, options.confidence, widen)
    verdict: Verdict = "no_clear_change" if low is None or high is None or low <= 0 <= high else "changed"
    return Effect(
        "before_after",
        verdict,
        None,
        units,
        0,
        0,
        before=before,
        after=after,
        after_low=after_low,
        after_high=after_high,
        att=after - before,
        relative=after / before - 1,
        low=low,
        high=high,
    )
