"""The fixed vocabularies stored in the tables and shown in the API, as StrEnums: one place each.

A member *is* its string (``InboxStatus.PENDING == "pending"``), so rows, JSON and SQL read the same
values as before; the enum only gives each word one definition. No imports beyond the standard
library: the CLI reads these at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class InboxStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"


class DeploymentStatus(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"
    CANCELLED = "cancelled"
    IN_PROGRESS = "in_progress"


class IncidentStatus(StrEnum):
    """In the order an incident moves through them (a later event never moves it back)."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class ReportStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    WONT_FIX = "wont_fix"


OPEN = (ReportStatus.OPEN, ReportStatus.ACKNOWLEDGED)
"""Report statuses still waiting for a fix."""
CLOSED = (ReportStatus.RESOLVED, ReportStatus.WONT_FIX)
"""Report statuses that close a report (its reporter is told)."""


class CategorySource(StrEnum):
    """Who chose a friction report's category: the taxonomy's rules, the learned model, or a lead."""

    RULE = "rule"
    MODEL = "model"
    HUMAN = "human"


class LinkMethod(StrEnum):
    """How an incident was linked to the deployment that caused it."""

    EXPLICIT = "explicit"
    SHA = "sha"
    WINDOW = "window"


INCIDENT_CATEGORIES = ("infrastructure", "application", "unknown")
"""What caused an incident, as classified (None: not classified yet, read as ``unknown``)."""
CHANGE_CAUSED = ("application", "unknown")
"""The categories a change may have caused: only these are linked to a deployment by the time window (a
platform outage is not a change failure). An explicit link (a named deployment or commit) is always kept."""


@dataclass(frozen=True, slots=True)
class MeasuredQuantity:
    """A measurement name the figures read, its unit and the values it can take (inclusive)."""

    name: str
    unit: str
    low: float
    high: float


MEASURED: dict[str, MeasuredQuantity] = {
    m.name: m
    for m in (
        MeasuredQuantity("gpu_utilisation", "ratio", 0.0, 1.0),
        MeasuredQuantity("cpu_utilisation", "ratio", 0.0, float("inf")),  # usage over a Kubernetes request can pass 1
        MeasuredQuantity("gpu_hours_provisioned", "hours", 0.0, float("inf")),
        MeasuredQuantity("gpu_hours_used", "hours", 0.0, float("inf")),
        MeasuredQuantity("cold_start_seconds", "seconds", 0.0, float("inf")),
    )
}
"""The measurements the weekly figures use (docs/cost.md), once: a utilisation is a ratio 0–1 (5 is not
500 %), hours and seconds are never negative. Any other name is kept as it is sent."""


def measurement_problem(name: str, value: float) -> str | None:
    """Why ``value`` cannot be a ``name`` measurement, or None: the one range check of every way in."""
    known = MEASURED.get(name)
    if known is None or known.low <= value <= known.high:
        return None
    high = "" if known.high == float("inf") else f" to {known.high:g}"
    return f"{name} is a {known.unit} from {known.low:g}{high}; got {value:g}"


class Scope(StrEnum):
    """What an API token may do."""

    INGEST = "ingest"
    READ = "read"
    ADMIN = "admin"


IMPLIED_SCOPES: dict[str, frozenset[str]] = {Scope.ADMIN: frozenset({Scope.READ})}
"""An admin reads what it administers: the one rule of the API's scopes and the web app's roles."""


def grants(scopes: Iterable[str], scope: str) -> bool:
    """Whether a token holding ``scopes`` may do what ``scope`` allows (directly, or implied)."""
    held = set(scopes)
    return scope in held or any(scope in IMPLIED_SCOPES.get(s, frozenset()) for s in held)


# The words of an effect, a pre-trend check and a success criterion: the estimator, the criteria, the
# digest's JSON contract and every renderer take them from here.
Verdict = Literal["changed", "no_clear_change", "not_enough_data"]
"""What an effect's interval supports: a change, no clear change, or no claim for want of data."""
VERDICT_WORDS: dict[str, str] = {
    "changed": "changed",
    "no_clear_change": "no clear change",
    "not_enough_data": "not enough data",
}
Method = Literal["staggered_did", "before_after", "none"]
"""How an effect was estimated: against not-yet-moved services, a plain before/after, or not at all."""
PreTrendStatus = Literal["parallel", "diverging", "not_tested"]
PRE_TREND_WORDS: dict[str, str] = {"parallel": "parallel", "diverging": "diverging", "not_tested": "not checked"}
DIVERGING = (
    "moved and not-yet-moved services were already diverging before the move, enough to explain the change "
    "if that trend continued"
)
"""Why no claim is made when the change does not survive the pre-move drift continuing after the move (the
sensitivity bound at M̄ = 1; the sentence every renderer uses)."""

CriterionStatus = Literal["met", "on_track", "off_track", "not_met", "not_enough_data"]
CRITERION_STATUS_WORDS: dict[str, str] = {
    "met": "met",
    "on_track": "on track",
    "off_track": "off track",
    "not_met": "not met",
    "not_enough_data": "not enough data",
}
Direction = Literal["at_least", "at_most"]
DIRECTIONS: tuple[Direction, ...] = ("at_least", "at_most")
Kind = Literal["relative", "absolute"]
KINDS: tuple[Kind, ...] = ("relative", "absolute")

MIGRATED = "migrated"
NOT_MIGRATED = "not_migrated"
COHORT_WORDS: dict[str, str] = {MIGRATED: "migrated", NOT_MIGRATED: "not yet migrated"}
"""The two cohorts: an event is ``migrated`` when it ran on a platform some migration moves services to
(``service.figures.cohort.with_cohort`` applies the rule to a frame)."""

FLAT_CHANGE = 0.05
"""A week against its comparison that moved less than 5 % either way is "flat" (neither better nor worse)."""

EffectScale = Literal["ratio", "additive"]
"""How the move's effect is modelled. ``ratio``: multiplicative parallel trends (without the move, the moved
services would have changed by the same factor as the controls; Wooldridge 2023's Poisson-style
imputation), for counts and positive skewed amounts — the counterfactual stays positive and a relative
interval, built on the log-ratio scale, never falls below −100 %. ``additive``: the same change in level
(Callaway & Sant'Anna 2021), for shares bounded on both sides."""
EFFECT_SCALES: tuple[EffectScale, ...] = ("ratio", "additive")
SCALE_WORDS: dict[str, str] = {"ratio": "ratio scale", "additive": "additive scale"}

SENSITIVITY_CAVEAT = "holds unless the trend after the move bends {bound:.1f}× more than the trend before it"
"""The caveat every claim carries (Rambachan & Roth's relative magnitudes, at the breakdown value): every
renderer formats this one sentence."""
SENSITIVITY_AGAINST = "holds even if the drift before the move goes on after it: that drift ran against the change"
"""The caveat of a claim made over a pre-move drift in the opposite direction (it can only have hidden some of
the change)."""
SENSITIVITY_UNSEEN = (
    "assumes no drift: the weeks around the move show none, but could miss one of {drift:.1%} a week, "
    "enough to explain it"
)
"""The caveat of a claim made without a drift seen, where one the data cannot rule out would explain it
(breakdown 0): the claim rests on parallel trends, and says how large a drift it could miss."""
SENSITIVITY_UNSEEN_SHORT = "assumes no drift (none seen)"
"""The same, in a table cell."""
NOT_ENOUGH_DATA_DETECT = "not enough data yet (could detect ±{mde:.0%})"
"""A criterion or effect whose interval is too wide to judge, with what the data could detect."""

PANEL_COLUMNS = ["service", "week_start", "value", "weight"]
"""The per-service weekly panel every effect reads (``service.effects.panel``)."""


@dataclass(frozen=True, slots=True)
class Metric:
    """What a metric is called and how it reads, wherever it is shown: the API and the digest's JSON, the
    effects and success criteria, the HTML and Slack digests, the web app's tables and charts.

    ``relative``: effects are stated relative to the counterfactual (+12 %), otherwise in the metric's own
    unit. ``scale`` multiplies stored values into the unit shown (100 for a share shown in %).
    ``effect_scale``: how the move's effect is modelled (``EffectScale``: ratio for counts and positive
    skewed amounts, additive for bounded shares)."""

    key: str
    label: str
    """The metric's name in sentences and tables of effects: "Lead time"."""
    unit: str
    higher_is_better: bool
    chart_label: str
    """Its name on a weekly figure, chart or headline row: "Lead time (median)"."""
    scale: float = 1.0
    relative: bool = True
    aggregation: Literal["mean"] = "mean"
    """How a group's weekly values combine: the mean over services (each service once)."""
    effect_scale: EffectScale = "ratio"
    article_name: str | None = None
    """How the migration article names a cost or work metric inside a sentence ("compute cost"); the
    verdict claims these in a sentence of their own. None: a delivery metric, named by its label."""
    claimed_as_level: bool = False
    """Its claim reads as a level before → after the move ("time to ship 47 → 11 days"), not as a change."""

    @property
    def in_sentence(self) -> str:
        """Its name inside a sentence: the article's name, else the label with a lower-case first letter
        ("deploys per week"; an acronym such as "GPU utilisation" stays as it is)."""
        return self.article_name or lower_first(self.label)


def lower_first(text: str) -> str:
    """ "Deploys per week" → "deploys per week"; an acronym ("GPU utilisation") stays as it is."""
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


METRICS: tuple[Metric, ...] = (
    Metric("deploys", "Deploys per week", "per week", True, "Deploys per week"),
    Metric("lead_time", "Lead time", "hours", False, "Lead time (median)"),
    Metric("change_failure_rate", "Change failure rate", "%", False, "Change failure rate", scale=100),
    Metric("time_to_restore", "Time to restore", "hours", False, "Time to restore (median)"),
    Metric("incidents", "Incidents per week", "count", False, "Incidents per week"),
    Metric(
        "compute_cost",
        "Compute cost per service-week",
        "per week",
        False,
        "Compute cost per service-week",
        article_name="compute cost",
    ),
    Metric(
        "gpu_utilisation",
        "GPU utilisation",
        "%",
        True,
        "GPU utilisation",
        scale=100,
        article_name="GPU utilisation",
        claimed_as_level=True,
    ),
    Metric(
        "cold_start_p95",
        "Cold-start p95",
        "seconds",
        False,
        "Cold-start p95",
        article_name="cold-start p95",
        claimed_as_level=True,
    ),
    Metric(
        "time_to_ship",
        "Time to ship a feature",
        "days",
        False,
        "Time to ship a feature",
        article_name="time to ship",
        claimed_as_level=True,
    ),
    Metric(
        "support_tickets",
        "Infrastructure support tickets per week",
        "count",
        False,
        "Infrastructure support tickets per week",
        article_name="infrastructure support tickets",
    ),
    Metric(
        "infra_incidents",
        "Infrastructure-related incidents per week",
        "count",
        False,
        "Infrastructure-related incidents per week",
        article_name="infrastructure-related incidents",
    ),
    Metric(
        "app_incidents",
        "Application incidents per week",
        "count",
        False,
        "Application incidents per week",
        article_name="application incidents",
    ),
)
"""Every metric, once. The effects registry pairs each with its weekly builder (``service.effects.registry``)."""


def is_better(change: float, higher_is_better: bool) -> bool:
    """Whether a change (a difference or a relative effect, its sign is what counts) is an improvement."""
    return (change > 0) == higher_is_better


def metric(key: str) -> Metric:
    """The metric ``key``; KeyError names the known ones."""
    for candidate in METRICS:
        if candidate.key == key:
            return candidate
    raise KeyError(f"unknown metric {key!r}; known: {', '.join(m.key for m in METRICS)}")


def known(key: str) -> Metric | None:
    """The metric ``key``, or None for one not in the vocabulary (a declared metric such as the pulse's)."""
    return next((candidate for candidate in METRICS if candidate.key == key), None)
