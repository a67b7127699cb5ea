"""Is a change real? A bootstrap interval over independent units (services), and the sentence to say.

Pure and seeded, so the same data always gives the same statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.90
RESAMPLES = 2000
SEED = 20261127


@dataclass(frozen=True, slots=True)
class Change:
    """A relative change after vs before, with its 90 % interval; ``verdict`` says how to state it."""

    before: float | None
    after: float | None
    relative: float | None
    low: float | None
    high: float | None
    units: int
    verdict: str
    """``changed`` (the interval excludes zero), ``no_clear_change``, or ``not_enough_data``."""

    def sentence(self, metric: str, *, lower_is_better: bool) -> str:
        if self.verdict == "not_enough_data":
            if self.units and self.before == 0:
                after = "none after either" if not self.after else f"{self.after:.1f} after"
                return f"{metric}: none before the move to compare with ({after}), so no percentage."
            plural = "s" if self.units != 1 else ""
            return f"{metric}: not enough data yet ({self.units} service{plural} with data on both sides)."
        if self.verdict == "no_clear_change" or self.relative is None or self.low is None or self.high is None:
            return (
                f"{metric}: no clear change (90 % interval {self.low:+.0%} to {self.high:+.0%}, {self.units} services)."
            )
        better = (self.relative < 0) == lower_is_better
        word = "better" if better else "worse"
        return (
            f"{metric}: {self.relative:+.0%} ({word}; 90 % interval {self.low:+.0%} to {self.high:+.0%}, "
            f"{self.units} services)."
        )


def relative_change(
    pairs: Sequence[tuple[float, float]], *, min_units: int, resamples: int = RESAMPLES, seed: int = SEED
) -> Change:
    """``pairs`` = (before, after) per service. The change is mean(after)/mean(before) − 1, bootstrapped
    over services (resampling whole services keeps each one's before and after together)."""
    data = np.array([(b, a) for b, a in pairs if np.isfinite(b) and np.isfinite(a)], dtype=float)
    units = len(data)
    if units < min_units or data[:, 0].mean() <= 0:
        before = float(data[:, 0].mean()) if units else None
        after = float(data[:, 1].mean()) if units else None
        return Change(before, after, None, None, None, units, "not_enough_data")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, units, size=(resamples, units))
    before_means = data[picks, 0].mean(axis=1)
    after_means = data[picks, 1].mean(axis=1)
    valid = before_means > 0
    ratios = after_means[valid] / before_means[valid] - 1
    tail = (1 - CONFIDENCE) / 2
    low, high = float(np.quantile(ratios, tail)), float(np.quantile(ratios, 1 - tail))
    relative = float(data[:, 1].mean() / data[:, 0].mean() - 1)
    verdict = "no_clear_change" if low <= 0 <= high else "changed"
    return Change(float(data[:, 0].mean()), float(data[:, 1].mean()), relative, low, high, units, verdict)
