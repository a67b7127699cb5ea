"""How far may trends bend before a claim fails? A relative-magnitudes bound in the spirit of Rambachan &
Roth (2023, "A More Credible Approach to Parallel Trends"), for the estimator's base-period design.

On the effect's model scale (log ratio, or level), the pre-move event study gives the moved services'
drift against the controls per week, ``s`` (a weighted least-squares slope over the weeks before the move
that have data). The effect compares the weeks after the move with a base whose centre lies
``(base − 1) / 2`` weeks before the last pre-move week; a post-move week e lies ``e + 1`` weeks after it.
Allowing the trend after the move to drift up to M̄ × |s| a week (M̄ = 1: the pre-move drift simply
continues), the bias of the aggregate is at most M̄ × |s| × D, with D = (base − 1) / 2 + the mean of e + 1
over the post-move cells. The robust interval at M̄ is taken over the bootstrap replicates of
θ − M̄|s|D and θ + M̄|s|D, so the slope's own uncertainty is in it; the breakdown M̄ is where that
interval first reaches 0.
"""

from __future__ import annotations

import numpy as np

from service.effects.matrix import interval

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
    """The effect's interval (model scale) allowing a post-move bend up to ``bound`` × the pre-move drift.
    Row 0 is the estimate, the rest replicates."""
    shift = bound * np.abs(slope) * distance
    low, _ = interval(theta[1:] - shift[1:], theta[0] - shift[0], confidence, widen)
    _, high = interval(theta[1:] + shift[1:], theta[0] + shift[0], confidence, widen)
    return low, high


def breakdown(theta: np.ndarray, slope: np.ndarray, distance: float, confidence: float, widen: float) -> float | None:
    """The M̄ at which the robust interval first includes 0 (bisection; the interval widens with M̄):
    0 when the plain interval already does, ``BREAKDOWN_MAX`` when no bend up to it would; None without an
    interval."""
    low, high = robust(theta, slope, distance, 0.0, confidence, widen)
    if low is None or high is None:
        return None

    def holds(bound: float) -> bool:
        lo, hi = robust(theta, slope, distance, bound, confidence, widen)
        return lo is not None and hi is not None and (lo > 0 or hi < 0)

    if not holds(0.0):
        return 0.0
    if holds(BREAKDOWN_MAX):
        return BREAKDOWN_MAX
    lo_m, hi_m = 0.0, BREAKDOWN_MAX
    for _ in range(30):
        mid = (lo_m + hi_m) / 2
        lo_m, hi_m = (mid, hi_m) if holds(mid) else (lo_m, mid)
    return round(lo_m, 2)
