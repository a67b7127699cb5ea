"""Is a success criterion met? Judged from the effect's 90 % interval, never from the point estimate alone.

- ``met``: the whole interval is on the success side of the target.
- ``not_met``: the deadline has passed and the interval is not wholly on the success side.
- ``off_track``: before the deadline, the whole interval is on the failure side (never on the point
  estimate alone).
- ``on_track``: before the deadline, the estimate is on the success side but the interval still reaches
  the failure side (not shown yet).
- ``not_enough_data``: no interval (too few services or weeks, a pre-move drift that would explain the
  change, or — for a relative target — no comparison group: a before/after is not the migration's effect);
  or, before the deadline, an interval too wide to judge whose estimate is on the failure side: then the
  sentence says what the data could detect ("not enough data yet (could detect ±40 %)").

A relative target is judged on the effect relative to the counterfactual (+100 % = twice what the moved
services would have shown without the move); an absolute one on the moved services' mean after the move,
in the metric's unit as shown (hours, %, per week).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.core.vocab import CRITERION_STATUS_WORDS, NOT_ENOUGH_DATA_DETECT, CriterionStatus, Direction, Kind
from service.effects.did import Effect
from service.effects.panel import PanelMetric

Status = CriterionStatus


@dataclass(frozen=True, slots=True)
class Criterion:
    metric: str
    direction: Direction
    kind: Kind
    target: float
    deadline: datetime | None


@dataclass(frozen=True, slots=True)
class Judgement:
    status: Status
    estimate: float | None
    low: float | None
    high: float | None
    sentence: str


def target_words(criterion: Criterion, metric: PanelMetric) -> str:
    side = "at least" if criterion.direction == "at_least" else "at most"
    if criterion.kind == "relative":
        return f"{metric.label} {side} {criterion.target:+.0%}"
    return f"{metric.label} {side} {criterion.target:g} {metric.unit}"


def _value(value: float | None, criterion: Criterion, metric: PanelMetric) -> str:
    if value is None:
        return "–"
    return f"{value:+.0%}" if criterion.kind == "relative" else f"{value:.1f} {metric.unit}"


def judge(criterion: Criterion, effect: Effect, metric: PanelMetric, *, now: datetime) -> Judgement:
    if criterion.kind == "relative":
        usable = effect.method == "staggered_did" and effect.verdict != "not_enough_data"
        estimate, low, high = effect.relative, effect.low, effect.high
    else:
        usable = effect.after is not None and effect.after_low is not None
        scale = metric.scale
        estimate, low, high = (
            None if v is None else v * scale for v in (effect.after, effect.after_low, effect.after_high)
        )
    goal = target_words(criterion, metric)
    if not usable or estimate is None or low is None or high is None:
        return Judgement("not_enough_data", estimate, low, high, f"{goal}: not enough data to judge yet.")

    def succeeds(value: float) -> bool:
        return value >= criterion.target if criterion.direction == "at_least" else value <= criterion.target

    passed = criterion.deadline is not None and now >= criterion.deadline
    interval = (
        f"{_value(estimate, criterion, metric)}, 90 % interval "
        f"{_value(low, criterion, metric)} to {_value(high, criterion, metric)}"
    )
    status: Status
    if succeeds(low) and succeeds(high):
        status = "met"
    elif passed:
        status = "not_met"
    elif succeeds(estimate):
        status = "on_track"
    elif not (succeeds(low) or succeeds(high)):
        status = "off_track"
    else:
        status = "not_enough_data"
    due = f"; due {criterion.deadline:%Y-%m-%d}" if criterion.deadline is not None else ""
    words = CRITERION_STATUS_WORDS[status]
    if status == "not_enough_data" and effect.mde_relative is not None:
        words = NOT_ENOUGH_DATA_DETECT.format(mde=effect.mde_relative)
    return Judgement(status, estimate, low, high, f"{goal}: {words} ({interval}{due}).")
