"""The words of an effect: one builder for the sentence every renderer shows under a metric (the app, the
HTML digest, Slack and the text version all show ``BeforeAfter.sentence``) and for the claims the verdict
opens with. Plain text; whoever renders it escapes it. A change is claimed only with ``verdict ==
"changed"`` from the staggered comparison, and then as the migration's effect rather than the calendar's.

A metric's name comes from the vocabulary (``service.core.vocab.METRICS``: its label, or the article's name
of a cost or work metric); a metric declared elsewhere (the pulse) is named by its own label."""

from __future__ import annotations

from service.core import vocab
from service.core.vocab import is_better, lower_first
from service.core.words import plural
from service.digest.models import BeforeAfter
from service.effects.did import MIN_CONTROLS, MIN_PRE_WEEKS, MIN_TREATED, PRE_WEEKS
from service.effects.words import interval
from service.figures.metrics import dora

CAUSED = "caused by the migration rather than the calendar"
NO_COMPARISON = "no comparison group; this is a before/after, not an effect"
DIVERGING = f"no claim: {vocab.DIVERGING}"


def name(item: BeforeAfter) -> str:
    """How a sentence names the item's metric: "deploys per week", "compute cost"."""
    known = vocab.known(item.metric)
    return lower_first(item.label) if known is None else known.in_sentence


def is_resource(item: BeforeAfter) -> bool:
    """A cost or work metric: the verdict claims it in a sentence of its own."""
    known = vocab.known(item.metric)
    return known is not None and known.article_name is not None


def _comparison(item: BeforeAfter) -> str:
    return f"{plural(item.services, 'moved service')} against {item.controls} not yet moved"


def _interval(item: BeforeAfter) -> str:
    return interval(item.low, item.high)


def sentence(item: BeforeAfter) -> str:
    """One sentence per metric, e.g. "Deploys per week: +98 % (better; 90 % interval +60 % to +140 %),
    caused by the migration rather than the calendar (6 moved services against 6 not yet moved)."."""
    label = item.label
    if item.reason == "no_baseline":
        if not item.after:
            return f"{label}: none before or after the move, so nothing to compare."
        return f"{label}: none before the move to compare with ({item.after:.1f} after), so no percentage."
    if item.method == "none" or (item.services == 0 and item.verdict == "not_enough_data"):
        return f"{label}: no data yet from the moved services."
    if item.method == "before_after":
        if item.relative is None or item.low is None or item.high is None:
            return f"{label}: not enough data yet ({plural(item.services, 'moved service')} with data on both sides)."
        return f"{label}: {item.relative:+.0%} after the move than before ({_interval(item)}) — {NO_COMPARISON}."
    if item.verdict == "not_enough_data":
        return f"{label}: {_reason(item)}."
    if item.relative is None or item.low is None or item.high is None:
        return f"{label}: not enough data yet."
    if item.verdict == "no_clear_change":
        detectable = (
            f"; the data could only show a change of about ±{item.mde_relative:.0%} or more"
            if item.mde_relative is not None
            else ""
        )
        return f"{label}: no clear change ({_interval(item)}, {_comparison(item)}){detectable}."
    word = "better" if is_better(item.relative, bool(item.higher_is_better)) else "worse"
    caveat = "" if item.caveat is None else f"; it {item.caveat}"
    return f"{label}: {item.relative:+.0%} ({word}; {_interval(item)}), {CAUSED} ({_comparison(item)}){caveat}."


def _reason(item: BeforeAfter) -> str:
    reason = item.reason
    if reason == "pre_trend_diverging":
        return DIVERGING
    if reason == "pre_trend_untested":
        return (
            f"no claim yet: fewer than {PRE_WEEKS} weeks with data before the moves to check that moved and "
            "not-yet-moved services ran in parallel"
        )
    if reason == "few_controls":
        return (
            f"not enough data yet ({plural(item.controls, 'service')} not yet moved to compare with; "
            f"{MIN_CONTROLS} needed)"
        )
    if reason == "few_weeks":
        return "not enough data yet (no complete week since the move)"
    return (
        f"not enough data yet ({plural(item.services, 'moved service')} with {MIN_PRE_WEEKS}+ weeks of data "
        f"before the move and some after; {MIN_TREATED} needed)"
    )


def claim(item: BeforeAfter) -> str:
    """A changed metric inside the verdict: "deploys per week rose to 6.1 against 2.0 expected without the
    move (+205 %, 90 % interval …)"; a cost or work metric in the article's terms (``_resource_claim``)."""
    assert item.relative is not None
    assert item.low is not None
    assert item.high is not None
    interval_words = f"{item.relative:+.0%}, {_interval(item)}"
    if is_resource(item):
        as_level = vocab.metric(item.metric).claimed_as_level
        return _resource_claim(item, interval_words if as_level else _interval(item))
    direction = "rose" if item.relative > 0 else "fell"
    unit = "" if item.unit in ("per week", "count") else f" {item.unit}"
    level = ""
    if item.after is not None and item.counterfactual is not None:
        level = f" to {item.after:.1f}{unit} against {item.counterfactual:.1f}{unit} expected without the move"
    bands = ""
    if item.metric == "deploys":
        then, now = _frequency_word(item.counterfactual), _frequency_word(item.after)
        if then and now and then != now:
            bands = f"; from {then} to {now} in DORA's terms"
    return f"{name(item)} {direction}{level} ({interval_words}{bands})"


def _resource_claim(item: BeforeAfter, interval_words: str) -> str:
    """The article's terms: "compute cost +12 % (a cost rise; …)", "time to ship 47 → 11 days (−77 %, …)",
    "infrastructure-related incidents −67 % (…)"."""
    assert item.relative is not None
    known = vocab.metric(item.metric)
    if known.claimed_as_level and item.before is not None and item.after is not None:
        unit = "" if item.unit == "%" else f" {item.unit}"
        expected = ""
        if item.counterfactual is not None:
            expected = f"; {_level(item.counterfactual, item.unit)}{unit} expected without the move"
        before, after = _level(item.before, item.unit), _level(item.after, item.unit)
        return f"{name(item)} {before} → {after}{unit} ({interval_words}{expected})"
    better = is_better(item.relative, bool(item.higher_is_better))
    cost = "a cost rise; " if item.metric == "compute_cost" and not better else ""
    return f"{name(item)} {item.relative:+.0%} ({cost}{interval_words})"


def _level(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f} %"
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.1f}"


def _frequency_word(per_week: float | None) -> str | None:
    if per_week is None:
        return None
    for bound, band in dora.FREQUENCY_BANDS:
        if per_week >= bound:
            return band
    return "fewer than monthly"
