"""How far may trends bend before a claim fails? A relative-magnitudes bound in the spirit of Rambachan &
Roth (2023, "A More Credible Approach to Parallel Trends"), for the estimator's base-period design.

On the effect's model scale (log ratio, or level), the pre-move event study gives the moved services'
drift against the controls per week, ``s`` (a weighted least-squares slope over the weeks before the move
that have data). The effect compares the weeks after the move with a base whose centre lies
``(base − 1) / 2`` weeks before the last pre-move week; a post-move week e lies ``e + 1`` weeks after it.
Allowing the trend after the move to go on in the direction it had, up to M̄ × |s| a week (M̄ = 1: the
pre-move drift simply continues; Rambachan & Roth's relative magnitudes with the bias's sign restricted to
the drift's), the bias of the aggregate lies between 0 and M̄ × s × D, with D = (base − 1) / 2 + the mean
of e + 1 over the post-move cells. The robust interval at M̄ is taken over the bootstrap replicates of
those ends, so the slope's own uncertainty is in it; the breakdown M̄ is where that interval first reaches
0 (never, for a drift against the effect: it can only have hidden some of it).
"""

from __future__ import annotations

import numpy as np

from service.effects.matrix import interval, intervals

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


def robust(
    theta: np.ndarray, slope: np.ndarray, distance: float, bound: float, confidence: float, widen: float
) -> tuple[float | None, float | None]:
    """The effect's interval (model scale) allowing a post-move bend up to ``bound`` × the pre-move drift, in
    the drift's direction: the bias is between 0 and bound·s·D, so the true effect lies in
    [θ − bound·max(s, 0)·D, θ − bound·min(s, 0)·D]. Row 0 is the estimate, the rest replicates."""
    down = bound * np.maximum(slope, 0.0) * distance
    up = bound * np.maximum(-slope, 0.0) * distance
    low, _ = interval(theta[1:] - down[1:], theta[0] - down[0], confidence, widen)
    _, high = interval(theta[1:] + up[1:], theta[0] + up[0], confidence, widen)
    return low, high


def breakdown(theta: np.ndarray, slope: np.ndarray, distance: float, confidence: float, widen: float) -> float | None:
    """The M̄ at which the robust interval first includes 0 (it widens with M̄), to 0.01: found on a
    coarse grid, then a fine one inside the bracket, each one quantile pass over all its values. 0 when the
    plain interval already includes 0, ``BREAKDOWN_MAX`` when no bend up to it would; None without an
    interval."""
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
    drift = np.maximum(slope, 0.0) if positive else -np.maximum(-slope, 0.0)
    shifted = theta[:, None] - drift[:, None] * distance * bounds[None, :]
    ends = intervals(shifted[1:], shifted[0], confidence, widen)
    edge = np.array([np.nan if e[0] is None else (e[0] if positive else e[1]) for e in ends], dtype=float)
    result: np.ndarray = edge > 0 if positive else edge < 0
    return result
