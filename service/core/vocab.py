"""The fixed vocabularies stored in the tables and shown in the API, as StrEnums: one place each.

A member *is* its string (``InboxStatus.PENDING == "pending"``), so rows, JSON and SQL read the same
values as before; the enum only gives each word one definition. No imports beyond the standard
library: the CLI reads these at start-up.
"""

from __future__ import annotations

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


class Scope(StrEnum):
    """What an API token may do."""

    INGEST = "ingest"
    READ = "read"
    ADMIN = "admin"


# The words of an effect, a pre-trend check and a success criterion: the estimator, the criteria, the
# digest's JSON contract and every renderer take them from here.
Verdict = Literal["changed", "no_clear_change", "not_enough_data"]
"""What an effect's interval supports: a change, no clear change, or no claim for want of data."""
Method = Literal["staggered_did", "before_after", "none"]
"""How an effect was estimated: against not-yet-moved services, a plain before/after, or not at all."""
PreTrendStatus = Literal["parallel", "diverging", "not_tested"]
PRE_TREND_WORDS: dict[str, str] = {"parallel": "parallel", "diverging": "diverging", "not_tested": "not checked"}
DIVERGING = "moved and not-yet-moved services were already diverging before the move"
"""Why no claim is made when the pre-trend check fails (the sentence every renderer uses)."""

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
"""The two cohorts: an event is ``migrated`` when it ran on a platform some migration moves services to
(``service.figures.cohort.with_cohort`` applies the rule to a frame)."""

FLAT_CHANGE = 0.05
"""A week against its comparison that moved less than 5 % either way is "flat" (neither better nor worse)."""

PANEL_COLUMNS = ["service", "week_start", "value", "weight"]
"""The per-service weekly panel every effect reads (``service.effects.panel``)."""
