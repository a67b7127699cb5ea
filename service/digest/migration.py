"""The digest's migration section: the effect of the move on every registered metric (staggered
difference-in-differences, ``service.effects``), the per-service before/after table, the success
criteria and the verdict the digest opens with. Pure: a ``DigestInput`` in, models out."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from service.core.vocab import CRITERION_STATUS_WORDS, DIVERGING, EffectScale, is_better
from service.core.weeks import complete_weeks_end
from service.criteria.judge import Criterion, judge, target_words
from service.digest.models import (
    BeforeAfter,
    CriteriaChangeNote,
    CriterionResult,
    Design,
    EventPoint,
    GroupTimeCell,
    PreTrend,
    ServiceChange,
)
from service.effects import did, words
from service.effects.own import OwnChange, own_changes
from service.effects.panel import PanelInputs, PanelMetric, first_treated_week, mask_move_weeks, treatment_weeks
from service.effects.registry import METRICS
from service.figures.metrics import dora


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
        pre = effect.pre_trend
        items.append(
            BeforeAfter(
                metric=metric.key,
                label=metric.label,
                unit=metric.unit,
                higher_is_better=metric.higher_is_better,
                before=_scaled(effect.before, metric),
                after=_scaled(effect.after, metric),
                counterfactual=_scaled(effect.counterfactual, metric),
                relative=effect.relative,
                low=effect.low,
                high=effect.high,
                services=effect.treated,
                controls=effect.controls,
                verdict=effect.verdict,
                reason=effect.reason,
                method=effect.method,
                pre_trend=PreTrend(status=pre.status, estimate=pre.estimate, low=pre.low, high=pre.high),
                mde_relative=effect.mde_relative,
                sentence=words.sentence(metric, effect),
                event_study=[
                    EventPoint(week=p.week, relative=p.relative, low=p.low, high=p.high, services=p.services)
                    for p in effect.event_study
                ],
                per_service=per_service(result),
                **computed(result),
            )
        )
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
        "caveat": words.caveat(effect),
        "drift_seen": effect.drift_seen,
        "drift_detectable": effect.drift_detectable,
        "design": None
        if design is None
        else Design(
            scale=design.scale,
            base_weeks=design.base_weeks,
            min_pre_weeks=design.min_pre_weeks,
            pre_weeks=design.pre_weeks,
            controls=design.controls,
            bound=design.bound,
        ),
        "group_time": [
            GroupTimeCell(
                cohort=c.cohort,
                week=c.week,
                since=c.since,
                att=_scaled(c.att, metric),
                att_low=_scaled(c.att_low, metric),
                att_high=_scaled(c.att_high, metric),
                relative=c.relative,
                low=c.low,
                high=c.high,
                treated=c.treated,
                controls=c.controls,
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
                metric=spec.metric,
                label=result.metric.label,
                goal=target_words(dated, result.metric),
                direction=spec.direction,
                kind=spec.kind,
                target=spec.target,
                deadline=deadline,
                status=verdict.status,
                estimate=verdict.estimate,
                low=verdict.low,
                high=verdict.high,
                sentence=verdict.sentence,
            )
        )
    return judged


def _shown(key: str, value: object, relative: bool) -> str:
    if key == "target" and isinstance(value, int | float):
        return f"{value:+.0%}" if relative else f"{value:g}"
    return str(value)


def change_notes(changes: tuple[dict[str, object], ...]) -> list[CriteriaChangeNote]:
    """The changes made after the migration started, as sentences. Criteria added after the start at the
    same moment (recorded with a migration whose start was backdated) make one note: not set in advance."""
    notes = []
    late = [c for c in changes if c.get("after_start")]
    added: dict[tuple[object, object], list[dict[str, object]]] = {}
    for change in late:
        if change["action"] == "created":
            added.setdefault((change["changed_at"], change["changed_by"]), []).append(change)
    for (at, by), group in added.items():
        assert isinstance(at, datetime)
        metrics = ", ".join(str(c["subject"]) for c in group)
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
        notes.append(
            CriteriaChangeNote(
                subject=metrics,
                action="created",
                before=None,
                after=None,
                changed_by=str(by),
                changed_at=at,
                sentence=sentence,
            )
        )
    for change in late:
        if change["action"] == "created":
            continue
        before, after = change.get("before"), change.get("after")
        subject, action = str(change["subject"]), str(change["action"])
        at = change["changed_at"]
        assert isinstance(at, datetime)
        what = f"{subject}: removed"
        if isinstance(before, dict) and isinstance(after, dict):
            relative = after.get("kind", "relative") == "relative"
            diffs = [
                f"{k} {_shown(k, before.get(k), relative)} → {_shown(k, after.get(k), relative)}"
                for k in after
                if before.get(k) != after.get(k)
            ]
            what = f"{subject}: " + ", ".join(diffs)
        notes.append(
            CriteriaChangeNote(
                subject=subject,
                action=action,
                before=before if isinstance(before, dict) else None,
                after=after if isinstance(after, dict) else None,
                changed_by=str(change["changed_by"]),
                changed_at=at,
                sentence=f"{what} — by {change['changed_by']} on {at:%Y-%m-%d}.",
            )
        )
    return notes


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


def _frequency_word(per_week: float | None) -> str | None:
    if per_week is None:
        return None
    for bound, name in dora.FREQUENCY_BANDS:
        if per_week >= bound:
            return name
    return "fewer than monthly"


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
    delivery = [item for item in changed if item.metric not in ARTICLE_NAMES]
    resources = [item for item in changed if item.metric in ARTICLE_NAMES]  # cost and work: a sentence of their own
    sentences: list[str] = []
    if delivery:
        parts = [_claim(item) for item in delivery]
        sentences.append(_upper_first(f"{_join(parts)}, caused by the migration rather than the calendar."))
    if resources:
        cause = "also caused by the migration" if delivery else "caused by the migration rather than the calendar"
        sentences.append(_upper_first(f"{_join([_claim(item) for item in resources])}, {cause}."))
    return sentences


def _unclear_sentences(items: list[BeforeAfter]) -> list[str]:
    """What did not change, what cannot be claimed (diverging pre-trends) and what is still waiting for data."""
    flat = [_lower_first(i.label) for i in items if i.verdict == "no_clear_change" and i.method == "staggered_did"]
    diverging = [_lower_first(i.label) for i in items if i.reason == "pre_trend_diverging"]
    waiting = [
        _lower_first(i.label) for i in items if i.verdict == "not_enough_data" and i.reason != "pre_trend_diverging"
    ]
    rest = []
    if flat:
        rest.append(f"{_join(flat)} {'shows' if len(flat) == 1 else 'show'} no clear change")
    if diverging:
        rest.append(f"no claim on {_join(diverging)}: {DIVERGING}")
    if waiting:
        rest.append(f"not enough data yet on {_join(waiting)}")
    return [_upper_first(f"{'; '.join(rest)}.")] if rest else []


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


ARTICLE_NAMES = {
    "compute_cost": "compute cost",
    "gpu_utilisation": "GPU utilisation",
    "cold_start_p95": "cold-start p95",
    "time_to_ship": "time to ship",
    "support_tickets": "infrastructure support tickets",
    "infra_incidents": "infrastructure-related incidents",
    "app_incidents": "application incidents",
}
"""How the article's leaders name the metrics whose claim reads "name +12 %" or "name 47 → 11 days"."""
LEVELS = {"gpu_utilisation", "cold_start_p95", "time_to_ship"}
"""Claims that read as a level before → after the move ("time to ship 47 → 11 days")."""


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    """ "Deploys per week" → "deploys per week"; an acronym ("GPU utilisation") stays as it is."""
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def _level(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f} %"
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.1f}"


def _article_claim(item: BeforeAfter, interval: str) -> str:
    """The article's terms: "compute cost +12 % (a cost rise; …)", "time to ship 47 → 11 days (−77 %, …)",
    "infrastructure-related incidents −67 % (…)"."""
    name = ARTICLE_NAMES[item.metric]
    assert item.relative is not None
    better = is_better(item.relative, bool(item.higher_is_better))
    if item.metric in LEVELS and item.before is not None and item.after is not None:
        unit = "" if item.unit == "%" else f" {item.unit}"
        expected = ""
        if item.counterfactual is not None:
            expected = f"; {_level(item.counterfactual, item.unit)}{unit} expected without the move"
        return f"{name} {_level(item.before, item.unit)} → {_level(item.after, item.unit)}{unit} ({interval}{expected})"
    cost = "a cost rise; " if item.metric == "compute_cost" and not better else ""
    return f"{name} {item.relative:+.0%} ({cost}{interval})"


def _claim(item: BeforeAfter) -> str:
    """ "deploys per week rose to 6.1 against 2.0 expected without the move (+205 %, 90 % interval …)"."""
    assert item.relative is not None
    assert item.low is not None
    assert item.high is not None
    interval = f"{item.relative:+.0%}, {words.interval(item.low, item.high)}"
    if item.metric in ARTICLE_NAMES:
        if item.metric not in LEVELS:
            interval = words.interval(item.low, item.high)
        return _article_claim(item, interval)
    direction = "rose" if item.relative > 0 else "fell"
    unit = "" if item.unit in ("per week", "count") else f" {item.unit}"
    level = ""
    if item.after is not None and item.counterfactual is not None:
        level = f" to {item.after:.1f}{unit} against {item.counterfactual:.1f}{unit} expected without the move"
    dora = ""
    if item.metric == "deploys":
        then, now = _frequency_word(item.counterfactual), _frequency_word(item.after)
        if then and now and then != now:
            dora = f"; from {then} to {now} in DORA's terms"
    return f"{_lower_first(item.label)} {direction}{level} ({interval}{dora})"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
