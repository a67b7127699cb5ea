"""The sentences that state an effect: one builder, used by the digest (Slack, HTML, text) and the web app.

Plain text; whoever renders it escapes it. A claim of change is made only with ``verdict == "changed"``
from the staggered comparison, and then says it is the migration's effect rather than the calendar's.
"""

from __future__ import annotations

from service.core import vocab
from service.core.words import plural
from service.effects.did import MIN_CONTROLS, MIN_PRE_WEEKS, MIN_TREATED, PRE_WEEKS, Effect
from service.effects.panel import PanelMetric
from service.effects.sensitivity import BREAKDOWN_MAX

NO_COMPARISON = "no comparison group; this is a before/after, not an effect"
DIVERGING = f"no claim: {vocab.DIVERGING}"


def better(metric: PanelMetric, relative: float) -> bool:
    return vocab.is_better(relative, metric.higher_is_better)


def comparison(effect: Effect) -> str:
    return f"{plural(effect.treated, 'moved service')} against {effect.controls} not yet moved"


def interval(low: float | None, high: float | None) -> str:
    """A relative effect's interval in words: "90 % interval +60 % to +140 %"."""
    return f"90 % interval {low:+.0%} to {high:+.0%}" if low is not None and high is not None else "no interval"


def _interval(effect: Effect) -> str:
    return interval(effect.low, effect.high)


def sentence(metric: PanelMetric, effect: Effect) -> str:
    """One sentence per metric, e.g. "Deploys per week: +98 % (better; 90 % interval +60 % to +140 %),
    caused by the migration rather than the calendar (6 moved services against 6 not yet moved)."."""
    label = metric.label
    if effect.reason == "no_baseline":
        if not effect.after:
            return f"{label}: none before or after the move, so nothing to compare."
        after = effect.after * metric.scale
        return f"{label}: none before the move to compare with ({after:.1f} after), so no percentage."
    if effect.method == "none" or (effect.treated == 0 and effect.verdict == "not_enough_data"):
        return f"{label}: no data yet from the moved services."
    if effect.method == "before_after":
        if effect.relative is None or effect.low is None or effect.high is None:
            return f"{label}: not enough data yet ({plural(effect.treated, 'moved service')} with data on both sides)."
        return f"{label}: {effect.relative:+.0%} after the move than before ({_interval(effect)}) — {NO_COMPARISON}."
    if effect.verdict == "not_enough_data":
        return f"{label}: {_reason(effect)}."
    if effect.relative is None or effect.low is None or effect.high is None:
        return f"{label}: not enough data yet."
    if effect.verdict == "no_clear_change":
        detectable = (
            f"; the data could only show a change of about ±{effect.mde_relative:.0%} or more"
            if effect.mde_relative is not None
            else ""
        )
        return f"{label}: no clear change ({_interval(effect)}, {comparison(effect)}){detectable}."
    word = "better" if better(metric, effect.relative) else "worse"
    return (
        f"{label}: {effect.relative:+.0%} ({word}; {_interval(effect)}), caused by the migration rather than "
        f"the calendar ({comparison(effect)}){_caveat(effect)}."
    )


def caveat(effect: Effect) -> str | None:
    """The sensitivity caveat of a claim made over a pre-move drift (``vocab.SENSITIVITY_CAVEAT``), or None."""
    if not effect.caveated or effect.breakdown is None:
        return None
    if effect.breakdown >= BREAKDOWN_MAX:
        return vocab.SENSITIVITY_AGAINST
    if effect.breakdown == 0 and effect.drift_detectable is not None:
        return vocab.SENSITIVITY_UNSEEN.format(drift=abs(effect.drift_detectable))
    return vocab.SENSITIVITY_CAVEAT.format(bound=effect.breakdown)


def _caveat(effect: Effect) -> str:
    words = caveat(effect)
    return "" if words is None else f"; it {words}"


def _reason(effect: Effect) -> str:
    reason = effect.reason
    if reason == "pre_trend_diverging":
        return DIVERGING
    if reason == "pre_trend_untested":
        return (
            f"no claim yet: fewer than {PRE_WEEKS} weeks with data before the moves to check that moved and "
            "not-yet-moved services ran in parallel"
        )
    if reason == "few_controls":
        return (
            f"not enough data yet ({plural(effect.controls, 'service')} not yet moved to compare with; "
            f"{MIN_CONTROLS} needed)"
        )
    if reason == "few_weeks":
        return "not enough data yet (no complete week since the move)"
    return (
        f"not enough data yet ({plural(effect.treated, 'moved service')} with {MIN_PRE_WEEKS}+ weeks of data "
        f"before the move and some after; {MIN_TREATED} needed)"
    )
