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

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from service.core.vocab import Method, PreTrendStatus, Verdict
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
    status: PreTrendStatus
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


CHUNK_COLUMNS = 256
"""Cohorts' cells are worked on in chunks of about this many (cohort, week) cells, so that a chunk's
(replicates × cells) arrays stay small enough to be fast (2 MB each)."""


@dataclass(frozen=True, slots=True)
class _Design:
    """One cohort g (the services whose first week on the new platform is g) in the weeks ``weeks`` from
    ``horizon`` before its move on that have both treated and control services in the data (no replicate has
    either where the data has none). Masks and values are services × those weeks, 0 outside their mask: d
    (a service's value minus its own mean over the ``base_weeks`` before the move) of the treated (``td``)
    and of the controls (``cd``), and the treated services' value (``ty``) and pre-move mean (``tb``)."""

    g: int
    weeks: np.ndarray
    members: np.ndarray
    base: np.ndarray
    treated: np.ndarray
    control: np.ndarray
    td: np.ndarray
    ty: np.ndarray
    tb: np.ndarray
    cd: np.ndarray

    @property
    def since(self) -> np.ndarray:
        """Weeks since the move, per cell."""
        since: np.ndarray = self.weeks - self.g
        return since


def _design(m: Matrices, g: int, options: Options, min_pre_weeks: int) -> _Design | None:
    lo = max(0, g - options.base_weeks)
    base = window_mean(m, lo, g)
    members = (m.g == g) & np.isfinite(base) & (m.valid[:, lo:g].sum(axis=1) >= min_pre_weeks)
    if not members.any():
        return None
    first = max(0, g - options.horizon)
    weeks = np.arange(first, len(m.weeks))
    ok = m.valid[:, first:] & np.isfinite(base)[:, None]
    if options.controls == "never_treated":
        control = np.repeat((~np.isfinite(m.g))[:, None], len(weeks), axis=1)
    else:
        control = m.g[:, None] > np.maximum(weeks, g)[None, :]
    control &= ok
    treated = members[:, None] & ok
    keep = treated.any(axis=0) & control.any(axis=0)
    ok, treated, control = ok[:, keep], treated[:, keep], control[:, keep]
    y = m.y[:, first:][:, keep]
    d0 = np.where(ok, y - np.nan_to_num(base)[:, None], 0.0)
    return _Design(
        g=g,
        weeks=weeks[keep],
        members=members,
        base=base,
        treated=treated,
        control=control,
        td=np.where(treated, d0, 0.0),
        ty=np.where(treated, y, 0.0),
        tb=np.where(treated, np.nan_to_num(base)[:, None], 0.0),
        cd=np.where(control, d0, 0.0),
    )


def _reduced(chunk: list[_Design], k: np.ndarray, counts: np.ndarray, reduce: np.ndarray) -> np.ndarray:
    """(4, rows of ``k``, columns of ``reduce``): over the cells of ``chunk`` with both treated and control
    services drawn, the treated weight n_t, n_t × att, n_t × level and n_t × pre-move level, summed by
    ``reduce`` (cells × sums).

    Per cell and replicate, n_t × att = Σ_T d − n_t · (Σ_C d / n_C). Only the second term needs the cells
    themselves: where every replicate drew a control for every cell, the other sums are linear in ``k`` and
    are reduced before they are multiplied (k_own · (X · reduce)). Counts are products with ``counts`` (``k``
    in single precision: exact); sums with ``k``. The treated side multiplies only the chunk's own services'
    columns of ``k``; the control side is over every service."""
    own = np.flatnonzero(np.logical_or.reduce([d.members for d in chunk]))
    k_own = k[:, own]
    treated = np.hstack([d.treated[own] for d in chunk])
    sides = [np.hstack([getattr(d, name)[own] for d in chunk]) for name in ("td", "ty", "tb")]
    n_t = _count(counts[:, own], treated)
    n_c = _count(counts, np.hstack([d.control for d in chunk]))
    s_cd = k @ np.hstack([d.cd for d in chunk])
    if n_c.min() > 0:
        linear = k_own @ np.hstack([treated @ reduce] + [x @ reduce for x in sides])
        out: np.ndarray = linear.reshape(len(k), 4, -1).transpose(1, 0, 2).copy()
        out[1] -= (n_t * (s_cd / n_c)) @ reduce
        return out
    s_td, s_ty, s_tb = (k_own @ x for x in sides)
    cell = (n_t > 0) & (n_c > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted_att = s_td - n_t * (s_cd / n_c)
    return np.stack([np.where(cell, values, 0.0) @ reduce for values in (n_t, weighted_att, s_ty, s_tb)])


def _count(counts: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """How many of the services in ``mask`` each replicate drew, per cell (whole numbers, float32)."""
    drawn: np.ndarray = counts @ mask.astype(np.float32)
    return drawn


def _single(k: np.ndarray) -> np.ndarray:
    """``k`` in single precision, for counting: a product of whole-number multiplicities and 0/1 masks is
    exact in float32 below 2**24 (a count of services drawn), at half the time of float64. Sums of values
    stay in double precision."""
    if k.size and k.sum(axis=1).max() >= 2**24:
        raise ValueError("too many services to count in single precision")
    return k.astype(np.float32)


def _chunks(designs: list[_Design]) -> list[list[_Design]]:
    chunks: list[list[_Design]] = []
    width = 0
    for d in designs:
        if not chunks or width + len(d.weeks) > CHUNK_COLUMNS:
            chunks.append([])
            width = 0
        chunks[-1].append(d)
        width += len(d.weeks)
    return chunks


def att_gt(
    panel: pd.DataFrame, first_treated: Mapping[str, date | None], options: Options | None = None
) -> pd.DataFrame:
    """The group-time effects themselves, one row per cohort and week: cohort (its first week), week,
    att, treated, controls. Rows without treated or control services are left out."""
    options = options or Options()
    m = matrices(panel, first_treated)
    rows = []
    for g in _cohort_weeks(m):
        d = _design(m, g, options, min_pre_weeks=0)
        if d is None:
            continue
        treated, controls = d.treated.sum(axis=0), d.control.sum(axis=0)
        att = d.td.sum(axis=0) / treated - d.cd.sum(axis=0) / controls
        for j, week in enumerate(d.weeks):
            rows.append((m.weeks[g], m.weeks[week], float(att[j]), int(treated[j]), int(controls[j])))
    return pd.DataFrame(rows, columns=["cohort", "week", "att", "treated", "controls"])


def _cohort_weeks(m: Matrices) -> list[int]:
    return sorted({int(x) for x in m.g if np.isfinite(x) and 0 < x < len(m.weeks)})


def estimate(panel: pd.DataFrame, first_treated: Mapping[str, date | None], options: Options | None = None) -> Effect:
    """The move's effect on the panel's metric. ``first_treated``: each service's first whole week on the
    new platform (``panel.treatment_weeks``); a service absent or None never moved.

    BLAS runs on one thread here: the matrices are small, and on busy shared cores a threaded BLAS spent
    4–5× longer synchronising than multiplying (bench/effects.py)."""
    with _threadpools().limit(limits=1, user_api="blas"):
        return _estimate(panel, first_treated, options or Options())


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
    designs = [d for g in cohorts if (d := _design(m, g, options, options.min_pre_weeks)) is not None]
    k = draws(m.g, options.resamples, options.seed)
    b = k.shape[0]
    horizon = options.horizon
    span = 2 * horizon + 1
    totals = np.zeros((4, b, 1 + span))
    """post and event-study sums (columns: after the move, then weeks −horizon … +horizon) of the cells'
    treated weight, weight × att, weight × level and weight × pre-move level."""
    es_units = np.zeros(span, dtype=int)
    treated_units = np.zeros(len(m.services), dtype=bool)
    control_units = np.zeros(len(m.services), dtype=bool)
    post_weeks: set[int] = set()
    counts = _single(k)
    for chunk in _chunks(designs):
        since = np.concatenate([d.since for d in chunk])
        reduce = np.hstack([(since >= 0)[:, None], since[:, None] == np.arange(-horizon, horizon + 1)[None, :]])
        totals += _reduced(chunk, k, counts, reduce.astype(float))
        for d in chunk:
            used = d.since >= 0
            treated_units |= d.treated[:, used].any(axis=1)
            control_units |= d.control[:, used].any(axis=1)
            post_weeks |= {int(e) for e in d.since[used]}
            inside = d.since <= horizon
            es_units[d.since[inside] + horizon] += d.treated[:, inside].sum(axis=0)
    weight, att, level, pre_level = totals
    return _summarise(
        options=options,
        treated=int(treated_units.sum()),
        controls=int(control_units.sum()),
        cohorts=len(cohorts),
        post_n=weight[:, 0],
        sums={"att": att[:, 0], "after": level[:, 0], "before": pre_level[:, 0]},
        es=(att[:, 1:], (level - att)[:, 1:], weight[:, 1:], es_units),
        placebo=_placebo(m, designs, k, options),
        post_weeks=len(post_weeks),
    )


def _placebo(
    m: Matrices, designs: list[_Design], k: np.ndarray, options: Options
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The pre-trend test's sums over cohorts, for every replicate: the late-minus-early change of the
    weeks before each move, treated minus controls, weighted by the treated count, and the treated
    pre-move level; and how many cohorts took part (those with ``PLACEBO_PRE_WEEKS`` weeks before)."""
    columns = []
    for d in designs:
        lo = max(0, d.g - options.base_weeks)
        if d.g - lo < PLACEBO_PRE_WEEKS:
            continue
        half = lo + (d.g - lo) // 2
        change = window_mean(m, half, d.g) - window_mean(m, lo, half)
        fine = np.isfinite(change)
        p_t = d.members & fine
        p_c = (m.g > d.g) & fine if options.controls == "not_yet_treated" else ~np.isfinite(m.g) & fine
        if p_t.any() and p_c.any():
            c0 = np.nan_to_num(change)
            columns += [p_t, p_c, p_t * c0, p_c * c0, p_t * np.nan_to_num(d.base)]
    b = k.shape[0]
    if not columns:
        return np.zeros(b), np.zeros(b), np.zeros(b), 0
    parts = (k @ np.column_stack(columns)).reshape(b, -1, 5)
    nt, nc = parts[:, :, 0], parts[:, :, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = parts[:, :, 2] / nt - parts[:, :, 3] / nc
        lvl = parts[:, :, 4] / nt
    good = np.isfinite(diff) & np.isfinite(lvl)
    return (
        np.where(good, diff * nt, 0).sum(axis=1),
        np.where(good, lvl * nt, 0).sum(axis=1),
        np.where(good, nt, 0).sum(axis=1),
        parts.shape[1],
    )


def _summarise(
    *,
    options: Options,
    treated: int,
    controls: int,
    cohorts: int,
    post_n: np.ndarray,
    sums: dict[str, np.ndarray],
    es: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    placebo: tuple[np.ndarray, np.ndarray, np.ndarray, int],
    post_weeks: int,
) -> Effect:
    if not controls:
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
    pre = _pre_trend(placebo, widen)
    reason = _no_claim_reason(
        options, treated=treated, controls=controls, post_weeks=post_weeks, baseline=cf[0], pre=pre, low=low, high=high
    )
    return Effect(
        method="staggered_did",
        verdict=_verdict(reason, low, high),
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
        mde_relative=_mde_relative(att, cf[0], widen),
        pre_trend=pre,
        event_study=_event_points(es, options, widen),
        post_weeks=post_weeks,
    )


def _mde_relative(att: np.ndarray, baseline: float, widen: float) -> float | None:
    """The smallest relative effect detected 80 % of the time: from the replicates' spread (more than ten
    finite ones needed) against the counterfactual ``baseline``; None without either."""
    spread = np.nanstd(att[1:]) if np.isfinite(att[1:]).sum() > 10 else np.nan
    if not (np.isfinite(baseline) and baseline != 0):
        return None
    return finite_or_none(POWER_Z * widen * spread / abs(baseline))


def _event_points(
    es: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], options: Options, widen: float
) -> tuple[EventPoint, ...]:
    """The event study: each period's relative effect (None where no service counts) and its interval."""
    es_num, es_cf, es_den, es_units = es
    points = []
    with np.errstate(invalid="ignore", divide="ignore"):
        es_rel = es_num / es_cf
    for slot in range(es_num.shape[1]):
        lo_e, hi_e = interval(es_rel[1:, slot], es_rel[0, slot], options.confidence, widen)
        value = finite_or_none(es_rel[0, slot]) if es_den[0, slot] > 0 else None
        points.append(EventPoint(slot - options.horizon, value, lo_e, hi_e, int(es_units[slot])))
    return tuple(points)


def _pre_trend(placebo: tuple[np.ndarray, np.ndarray, np.ndarray, int], widen: float) -> PreTrend:
    """The placebo test: diverging when its interval excludes 0; not tested when no cohort took part."""
    p_num, p_level, _p_den, p_cohorts = placebo
    if not p_cohorts:
        return PreTrend("not_tested")
    with np.errstate(invalid="ignore", divide="ignore"):
        p_rel = p_num / p_level
    p_low, p_high = interval(p_rel[1:], p_rel[0], PRETREND_CONFIDENCE, widen)
    diverging = p_low is not None and p_high is not None and not p_low <= 0 <= p_high
    return PreTrend("diverging" if diverging else "parallel", finite_or_none(p_rel[0]), p_low, p_high, p_cohorts)


def _no_claim_reason(
    options: Options,
    *,
    treated: int,
    controls: int,
    post_weeks: int,
    baseline: float,
    pre: PreTrend,
    low: float | None,
    high: float | None,
) -> str | None:
    """Why the data make no claim (the first rule broken, in this order), or None when they can."""
    rules = (
        (treated < options.min_treated, "few_treated"),
        (controls < options.min_controls, "few_controls"),
        (post_weeks < 1, "few_weeks"),
        (not (np.isfinite(baseline) and baseline > 0), "no_baseline"),
        (pre.status == "diverging", "pre_trend_diverging"),
        (pre.status == "not_tested", "pre_trend_untested"),
        (low is None or high is None, "few_treated"),
    )
    return next((reason for broken, reason in rules if broken), None)


def _verdict(reason: str | None, low: float | None, high: float | None) -> Verdict:
    """No claim when there is a reason; otherwise a change when the interval excludes 0."""
    if reason or low is None or high is None:
        return "not_enough_data"
    return "no_clear_change" if low <= 0 <= high else "changed"


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
