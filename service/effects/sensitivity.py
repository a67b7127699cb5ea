"""How far may trends bend before a claim fails? A smoothness bound in the spirit of Rambachan & Roth (2023,
"A More Credible Approach to Parallel Trends", the class Δ^SD), for the estimator's base-period design.

On the effect's model scale (log ratio, or level), the pre-move event study gives the moved services'
drift against the controls per week, ``s`` (a weighted least-squares slope over the weeks before the move
that have data, in every bootstrap replicate). The effect compares the weeks after the move with a base
whose centre lies ``(base − 1) / 2`` weeks before the last pre-move week; a post-move week e lies ``e + 1``
weeks after it, so a drift that simply goes on biases the aggregate by ``s × D``, with
D = (base − 1) / 2 + the mean of e + 1 over the post-move cells.

Every claim is held to it, whether the drift is clear or not: at M̄ = 0 the bias is exactly ``s × D``
(Rambachan & Roth's Δ^SD(0): the pre-move trend extrapolated linearly), and M̄ lets the slope after the move
differ from the pre-move one by up to M̄ × |s| a week, in the drift's direction only (the trend after the
move may slow, stop or steepen, never reverse: the sign restriction): the bias lies between
max(1 − M̄, 0) × s × D and (1 + M̄) × s × D. The robust interval at M̄ is taken over the bootstrap
replicates of those ends — each replicate with its own slope — so the slope's sampling uncertainty is in
it, which is what keeps a noisy slope from either claiming or hiding an effect. The breakdown M̄ is where
that interval first reaches 0 (never, for a drift against the effect: it can only have hidden some of it).

Why not the largest pre-move violation (Rambachan & Roth's relative magnitudes, Δ^RM)? A week-to-week
maximum is the noisiest statistic of sparse weekly counts: held to every claim, it swallowed the power to
see a two-thirds drop in incidents at 0.6 a week; held only to drifts that were "seen", it let a trend that
bends at the move through in 28 % of worlds (bench.effects, ``bend_null``). The slope over all pre-move
weeks is the stable summary of the same information, and its own uncertainty is carried, not gated on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from service.effects.matrix import interval, intervals

DETECT_Z = 1.645 + 0.842
"""A drift detected 80 % of the time by a one-sided 95 % test: (z₀.₉₅ + z₀.₈) standard errors."""

BREAKDOWN_MAX = 100.0
"""Above this the claim holds for any bend that matters: reported as this value."""


def slopes(theta: np.ndarray, weight: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Per replicate (rows), the weighted least-squares slope of ``theta`` over ``events`` (weeks since
    the move); cells with no weight or no finite value left out. NaN with fewer than two weeks."""
    w = np.where(np.isfinite(theta) & (weight > 0), weight, 0.0)
    t = np.nan_to_num(theta)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = w.sum(axis=1, keepdims=True)
        mx = (w * events).sum(axis=1, keepdims=True) / total
        my = (w * t).sum(axis=1, keepdims=True) / total
        dx = events - mx
        out: np.ndarray = ((w * dx * (t - my)).sum(axis=1) / (w * dx * dx).sum(axis=1)).ravel()
    return out


def bias_range(slope: np.ndarray, distance: float, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(replicates × bounds) the least and the greatest bias of the aggregate allowed at each M̄: the slope
    after the move between max(1 − M̄, 0) and (1 + M̄) times the pre-move one, over the distance D."""
    drift = slope[:, None] * distance
    slow = drift * np.clip(1.0 - bounds, 0.0, None)[None, :]
    steep = drift * (1.0 + bounds)[None, :]
    return np.minimum(slow, steep), np.maximum(slow, steep)


def robust(
    theta: np.ndarray, slope: np.ndarray, distance: float, bound: float, confidence: float, widen: float
) -> tuple[float | None, float | None]:
    """The effect's interval (model scale) at M̄ = ``bound``: the true effect lies in
    [θ − greatest bias, θ − least bias]; each end's quantile over the replicates. Row 0 is the estimate."""
    least, greatest = (b[:, 0] for b in bias_range(slope, distance, np.array([bound])))
    low, _ = interval(theta[1:] - greatest[1:], theta[0] - greatest[0], confidence, widen)
    _, high = interval(theta[1:] - least[1:], theta[0] - least[0], confidence, widen)
    return low, high


def breakdown(theta: np.ndarray, slope: np.ndarray, distance: float, confidence: float, widen: float) -> float | None:
    """The M̄ at which the robust interval first includes 0 (it widens with M̄), to 0.01: found on a
    coarse grid, then a fine one inside the bracket, each one quantile pass over all its values. 0 when the
    interval at M̄ = 0 (the drift extrapolated) already includes 0, ``BREAKDOWN_MAX`` when no bend up to it
    would; None without an interval."""
    low, high = robust(theta, slope, distance, 0.0, confidence, widen)
    if low is None or high is None:
        return None
    if low <= 0 <= high:
        return 0.0
    coarse = np.concatenate([[0.0], np.geomspace(0.01, BREAKDOWN_MAX, 48)])
    holds = _holds(theta, slope, distance, coarse, confidence, widen, positive=low > 0)
    if holds.all():
        return BREAKDOWN_MAX
    first_fail = int(np.argmin(holds))
    fine = np.linspace(coarse[first_fail - 1], coarse[first_fail], 64)
    holds = _holds(theta, slope, distance, fine, confidence, widen, positive=low > 0)
    return round(float(fine[max(int(np.argmin(holds)) - 1, 0)]), 2)


def _holds(
    theta: np.ndarray,
    slope: np.ndarray,
    distance: float,
    bounds: np.ndarray,
    confidence: float,
    widen: float,
    *,
    positive: bool,
) -> np.ndarray:
    """Per bound, whether the robust interval still excludes 0 on the effect's side."""
    least, greatest = bias_range(slope, distance, bounds)
    shifted = theta[:, None] - (greatest if positive else least)
    ends = intervals(shifted[1:], shifted[0], confidence, widen)
    edge = np.array([np.nan if e[0] is None else (e[0] if positive else e[1]) for e in ends], dtype=float)
    result: np.ndarray = edge > 0 if positive else edge < 0
    return result


def step_slopes(theta: np.ndarray, weight: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Per replicate (rows), the common weekly slope of ``theta`` over ``events`` (weeks since the move,
    before and after it) in the weighted least-squares fit θ_e = a + s·e + β·[e ≥ 0]: a drift that goes on
    through the move, with the move's own effect as a step. NaN without two weeks on a side."""
    w = np.where(np.isfinite(theta) & (weight > 0), weight, 0.0)
    t = np.nan_to_num(theta)
    x = np.stack([np.ones_like(events), events, (events >= 0).astype(float)])  # (3, weeks)
    gram = (w @ (x[:, None, :] * x[None, :, :]).reshape(9, -1).T).reshape(-1, 3, 3)
    moment = (w * t) @ x.T
    before, after = (w[:, events < 0] > 0).sum(axis=1), (w[:, events >= 0] > 0).sum(axis=1)
    ok = (before >= 2) & (after >= 2)
    out = np.full(len(w), np.nan)
    if ok.any():
        out[ok] = np.linalg.solve(gram[ok], moment[ok][:, :, None])[:, 1, 0]
    return out


@dataclass(frozen=True, slots=True)
class Drift:
    """Whether the weeks around the move show a drift on the effect's side, and the drift a week (model
    scale) they would detect 80 % of the time; None without enough replicates."""

    seen: bool
    detectable: float | None = None


def drift_seen(slope: np.ndarray, effect: float, confidence: float) -> Drift:
    """``slope``: ``step_slopes`` per replicate (row 0 the estimate). Seen when the slope's interval at
    ``confidence`` lies wholly on the effect's side of 0 (a one-sided test in the direction that could explain
    the effect; a drift against it can only have hidden some of it). Without a usable slope or effect the
    drift counts as seen, so that the bound decides."""
    rest = slope[1:][np.isfinite(slope[1:])]
    if len(rest) < 10 or not np.isfinite(slope[0]) or not np.isfinite(effect) or effect == 0:
        return Drift(seen=True)
    low, high = np.quantile(rest, [(1 - confidence) / 2, 1 - (1 - confidence) / 2])
    seen = bool(high < 0) if effect < 0 else bool(low > 0)
    return Drift(seen=seen, detectable=float(DETECT_Z * np.std(rest)))
