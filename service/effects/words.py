"""An effect in words, where the estimator's own fields decide them: its interval and its sensitivity caveat.
The sentence every renderer shows under a metric is written once, from the digest's typed item, by
``service.digest.claims``; these are its parts that need the ``Effect`` itself. Plain text; whoever renders
it escapes it.
"""

from __future__ import annotations

from service.core import vocab
from service.effects.did import Effect
from service.effects.sensitivity import BREAKDOWN_MAX


def interval(low: float | None, high: float | None) -> str:
    """A relative effect's interval in words: "90 % interval +60 % to +140 %"."""
    return f"90 % interval {low:+.0%} to {high:+.0%}" if low is not None and high is not None else "no interval"


def caveat(effect: Effect) -> str | None:
    """The sensitivity caveat of a claim made over a pre-move drift (``vocab.SENSITIVITY_CAVEAT``), or None."""
    if not effect.caveated or effect.breakdown is None:
        return None
    if effect.breakdown >= BREAKDOWN_MAX:
        return vocab.SENSITIVITY_AGAINST
    if effect.breakdown == 0 and effect.drift_detectable is not None:
        return vocab.SENSITIVITY_UNSEEN.format(drift=abs(effect.drift_detectable))
    return vocab.SENSITIVITY_CAVEAT.format(bound=effect.breakdown)
