"""The digest's migration section: the effect of the move on every registered metric (staggered
difference-in-differences, ``service.effects``), the per-service before/after table, the success
criteria and the verdict the digest opens with. Pure: a ``DigestInput`` in, models out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from service.core.vocab import CRITERION_STATUS_WORDS, DIVERGING, EffectScale, lower_first, upper_first
from service.core.weeks import complete_weeks_end
from service.criteria.judge import Criterion, judge, target_words
from service.digest import claims
from service.digest.models import (
    BeforeAfter,
    CriteriaChangeNote,
    CriterionResult,
    Design,
    EventPoint,
    PreTrend,
    ServiceChange,
)
from service.effects import did, words
from service.effects.own import OwnChange, own_changes
from service.effects.panel import PanelInputs, PanelMetric, first_treated_week, mask_move_weeks, treatment_weeks
from service.effects.registry import METRICS


@dataclass(frozen=True, slots=True)
class MetricEffect:
    metric: PanelMetric
    effect: did.Effect
    panel: pd.DataFrame
    first_treated: dict[str, date | None]
    own: list[OwnChange]
    """Each moved service against itself: the per-service table."""


def effects(
    *,
    frames: dict[str, pd.DataFrame],
    moves: dict[str, datetime | None],
    tz: str,
    environments: frozenset[str],
    start: datetime,
    end: datetime,
    now: datetime,
    metrics: tuple[PanelMetric, ...] = METRICS,
    options: did.Options | None = None,
    scale: EffectScale | None = None,
) -> list[MetricEffect]:
    """Each metric's panel over the complete weeks from ``start`` to ``end`` and the move's effect on it.
    ``moves``: every service of the audience, with when it first ran on the target platform (None: never).
    ``options``: the design (default: ``did.Options`` with the group-time table); ``scale``: the design's
    scale for every metric (None: each metric's own)."""
    inputs = PanelInputs(
        frames=frames,
        services=tuple(sorted(moves)),
        tz=tz,
        start=first_treated_week(start, tz),
        end=complete_weeks_end(end, now, tz),
        environments=environments,
    )
    first = treatment_weeks(moves, tz)
    design = options or did.Options(cells=True)
    results = []
    for metric in metrics:
        options = replace(design, scale=scale or metric.effect_scale)
        panel = mask_move_weeks(metric.build(inputs), moves, tz)
        own = own_changes(panel, moves, tz)
        results.append(MetricEffect(metric, did.estimate(panel, first, options), panel, first, own))
    return results


def _scaled(value: float | None, metric: PanelMetric) -> float | None:
    return None if value is None else value * metric.scale


def per_service(result: MetricEffect) -> list[ServiceChange]:
    """Each moved service against itself (``service.effects.own``), in the metric's unit."""
    return [
        ServiceChange(
            service=change.service,
            moved_on=change.moved_on,
            before=_scaled(change.before, result.metric),
            after=_scaled(change.after, result.metric),
            relative=change.relative,
        )
        for change in result.own
    ]


def before_after(results: list[MetricEffect]) -> list[BeforeAfter]:
    items = []
    for result in results:
        effect, metric = result.effect, result.metric
        item = BeforeAfter(
            metric=metric.key,
            label=metric.label,
            unit=metric.unit,
            higher_is_better=metric.higher_is_better,
            services=effect.treated,
            pre_trend=PreTrend.model_validate(effect.pre_trend, from_attributes=True),
            sentence="",
            event_study=[EventPoint.model_validate(p, from_attributes=True) for p in effect.event_study],
            per_service=per_service(result),
            before=_scaled(effect.before, metric),
            after=_scaled(effect.after, metric),
            counterfactual=_scaled(effect.counterfactual, metric),
            relative=effect.relative,
            low=effect.low,
            high=effect.high,
            controls=effect.controls,
            verdict=effect.verdict,
            reason=effect.reason,
            method=effect.method,
            mde_relative=effect.mde_relative,
            **computed(result),
        )
        items.append(item.model_copy(update={"sentence": claims.sentence(item)}))
    return items


def computed(result: MetricEffect) -> dict[str, Any]:
    """What the estimator computed beyond the headline, in the metric's unit as shown: the level effect and
    its interval, the sensitivity bound and breakdown, the caveat, the design and the group-time table."""
    effect, metric = result.effect, result.metric
    design = effect.design
    return {
        "scale": effect.scale,
        "att": _scaled(effect.att, metric),
        "att_low": _scaled(effect.att_low, metric),
        "att_high": _scaled(effect.att_high, metric),
        "sensitivity_low": effect.sensitivity_low,
        "sensitivity_high": effect.sensitivity_high,
        "breakdown": effect.breakdown,
        "drift_seen": effect.drift_seen,
        "drift_detectable": effect.drift_detectable,
        "caveat": words.caveat(effect),
        "design": None if design is None else Design.model_validate(design, from_attributes=True),
        "group_time": [
            replace(
                c,
                att=_scaled(c.att, metric),
                att_low=_scaled(c.att_low, metric),
                att_high=_scaled(c.att_high, metric),
            )
            for c in effect.group_time
        ],
    }


def criteria(
    results: list[MetricEffect], specs: tuple[Criterion, ...], *, target_date: datetime | None, now: datetime
) -> list[CriterionResult]:
    """Each criterion judged from its metric's interval; a criterion without a deadline has the migration's
    target date."""
    by_key = {r.metric.key: r for r in results}
    judged = []
    for spec in specs:
        result = by_key.get(spec.metric)
        if result is None:
            continue  # a metric no longer registered: kept in the database, not judged
        deadline = spec.deadline or target_date
        dated = Criterion(spec.metric, spec.direction, spec.kind, spec.target, deadline)
        verdict = judge(dated, result.effect, result.metric, now=now)
        judged.append(
            CriterionResult(
                label=result.metric.label, goal=target_words(dated, result.metric), **asdict(dated), **asdict(verdict)
            )
        )
    return judged


def _shown(key: str, value: object, relative: bool) -> str:
    """A changed field's value as a reader reads it: a target as the criterion states it, a moment as its
    day, a word of the vocabulary with spaces, an absent value as "not set"."""
    if value is None:
        return "not set"
    if key == "target" and isinstance(value, int | float):
        return f"{value:+.0%}" if relative else f"{value:g}"
    if isinstance(value, dict):
        return "(" + ", ".join(f"{_field(k)} {_shown(k, v, relative)}" for k, v in value.items()) + ")"
    if isinstance(value, str) and key in _MOMENTS:
        with suppress(ValueError):  # the trail stores ISO 8601; anything else is shown as it is
            return f"{datetime.fromisoformat(value):%Y-%m-%d}"
    if isinstance(value, str) and key in _WORDS:
        return _field(value)  # at_least: "at least"
    return str(value)  # a name (a platform, a metric) as it was given


_MOMENTS = ("started_at", "target_date", "deadline")
"""The fields of a migration and a criterion that hold a moment (ISO 8601, as the trail stores it)."""
_WORDS = ("direction", "kind")


def _field(key: str) -> str:
    return key.replace("_", " ")


def change_notes(
    changes: tuple[dict[str, object], ...], labels: Mapping[str, str] | None = None
) -> list[CriteriaChangeNote]:
    """The changes made after the migration started, as sentences. Criteria added after the start at the
    same moment (recorded with a migration whose start was backdated) make one note: not set in advance.
    A criterion's metric is named by its label (``labels``: key to label; the note's ``subject`` keeps the
    key), the migration's own fields as words."""
    known = labels or {}

    def named(subject: object) -> str:
        return known.get(str(subject)) or upper_first(_field(str(subject)))

    late = [c for c in changes if c.get("after_start")]
    added: dict[tuple[object, object], list[dict[str, object]]] = {}
    for change in late:
        if change["action"] == "created":
            added.setdefault((change["changed_at"], change["changed_by"]), []).append(change)
    notes = [_added_note(group, named) for group in added.values()]
    return notes + [_changed_note(change, named) for change in late if change["action"] != "created"]


def _added_note(group: list[dict[str, object]], named: Callable[[object], str]) -> CriteriaChangeNote:
    """Criteria first set after the start, by one person at one moment: not set in advance."""
    at, by = group[0]["changed_at"], group[0]["changed_by"]
    assert isinstance(at, datetime)
    metrics = ", ".join(named(c["subject"]) for c in group)
    decided = group[0].get("decided_at")
    if isinstance(decided, datetime):
        ref = group[0].get("decided_ref")
        per = f" per {ref}" if ref else ""
        sentence = (
            f"{metrics}: recorded {at:%Y-%m-%d} by {by}, decided {decided:%Y-%m-%d}{per} (the recorder's "
            "word) — recorded after the migration had started, so not shown as set in advance."
        )
    else:
        sentence = f"{metrics}: set on {at:%Y-%m-%d} by {by}, after the migration had started — not set in advance."
    return CriteriaChangeNote(
        subject=", ".join(str(c["subject"]) for c in group),
        action="created",
        before=None,
        after=None,
        changed_by=str(by),
        changed_at=at,
        sentence=sentence,
    )


def _changed_note(change: dict[str, object], named: Callable[[object], str]) -> CriteriaChangeNote:
    """A criterion changed or removed, or a field of the migration changed, after the start."""
    before, after = change.get("before"), change.get("after")
    subject, action = str(change["subject"]), str(change["action"])
    at = change["changed_at"]
    assert isinstance(at, datetime)
    what = f"{named(subject)}: removed"
    if isinstance(before, dict) and isinstance(after, dict):
        relative = after.get("kind", "relative") == "relative"
        diffs = [
            f"{_field(k)} {_shown(k, before.get(k), relative)} → {_shown(k, after.get(k), relative)}"
            for k in after
            if before.get(k) != after.get(k)
        ]
        what = f"{named(subject)}: " + ", ".join(diffs)
    return CriteriaChangeNote(
        subject=subject,
        action=action,
        before=before if isinstance(before, dict) else None,
        after=after if isinstance(after, dict) else None,
        changed_by=str(change["changed_by"]),
        changed_at=at,
        sentence=f"{what} — by {change['changed_by']} on {at:%Y-%m-%d}.",
    )


def schedule(moved: int, total: int, target_date: datetime | None, now: datetime) -> str | None:
    if target_date is None:
        return None
    left = total - moved
    if now >= target_date:
        if left == 0:
            return f"All {total} services moved; the target date was {target_date:%Y-%m-%d}."
        return f"The target date {target_date:%Y-%m-%d} has passed with {left} of {total} services not yet moved."
    weeks_left = (target_date - now) / timedelta(weeks=1)
    return f"{moved} of {total} services moved, {weeks_left:.0f} weeks before the target date {target_date:%Y-%m-%d}."


def verdict(items: list[BeforeAfter], judged: list[CriterionResult], changes: list[CriteriaChangeNote]) -> list[str]:
    """Two or three plain sentences before any table: what changed because of the move, what did not or
    cannot be told yet, and how the success criteria stand."""
    sentences = [
        *_no_comparison_sentences(items),
        *_caused_sentences(items),
        *_unclear_sentences(items),
        *_criteria_sentences(judged, changes),
    ]
    return sentences or ["No services have moved yet, so there is no effect to report."]


def _no_comparison_sentences(items: list[BeforeAfter]) -> list[str]:
    """The caveat when every service moved in the same week: before/after figures, no effects."""
    if not any(item.method == "before_after" for item in items):
        return []
    return [
        "Every service moved in the same week, so there is no comparison group: the figures below are "
        "before/after, not effects of the migration."
    ]


def _caused_sentences(items: list[BeforeAfter]) -> list[str]:
    """What changed because of the move: delivery metrics in one sentence, cost and work in their own."""
    changed = [i for i in items if i.verdict == "changed" and i.method == "staggered_did"]
    delivery = [item for item in changed if not claims.is_resource(item)]
    resources = [item for item in changed if claims.is_resource(item)]  # cost and work: a sentence of their own
    sentences: list[str] = []
    if delivery:
        parts = [claims.claim(item) for item in delivery]
        sentences.append(upper_first(f"{_join(parts)}, {claims.CAUSED}."))
    if resources:
        cause = "also caused by the migration" if delivery else claims.CAUSED
        sentences.append(upper_first(f"{_join([claims.claim(item) for item in resources])}, {cause}."))
    return sentences


def _unclear_sentences(items: list[BeforeAfter]) -> list[str]:
    """What did not change, what cannot be claimed (diverging pre-trends) and what is still waiting for data."""
    flat = [lower_first(i.label) for i in items if i.verdict == "no_clear_change" and i.method == "staggered_did"]
    diverging = [lower_first(i.label) for i in items if i.reason == "pre_trend_diverging"]
    waiting = [
        lower_first(i.label) for i in items if i.verdict == "not_enough_data" and i.reason != "pre_trend_diverging"
    ]
    rest = []
    if flat:
        rest.append(f"{_join(flat)} {'shows' if len(flat) == 1 else 'show'} no clear change")
    if diverging:
        rest.append(f"no claim on {_join(diverging)}: {DIVERGING}")
    if waiting:
        rest.append(f"not enough data yet on {_join(waiting)}")
    return [upper_first(f"{'; '.join(rest)}.")] if rest else []


def _criteria_sentences(judged: list[CriterionResult], changes: list[CriteriaChangeNote]) -> list[str]:
    """How the success criteria stand, counted by status, with how many changed after the start."""
    if not judged:
        return []
    met = sum(c.status == "met" for c in judged)
    counts = [f"{met} of {len(judged)} success criteria met"]
    for status in ("on_track", "off_track", "not_met", "not_enough_data"):
        n = sum(c.status == status for c in judged)
        if n:
            counts.append(f"{n} {CRITERION_STATUS_WORDS[status]}")
    moved = f" (changed after the start: {len(changes)}, see below)" if changes else ""
    return [f"{', '.join(counts)}{moved}."]


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
