"""The fixed vocabularies stored in the tables and shown in the API, as StrEnums: one place each.

A member *is* its string (``InboxStatus.PENDING == "pending"``), so rows, JSON and SQL read the same
values as before; the enum only gives each word one definition. No imports beyond the standard
library: the CLI reads these at start-up.
"""

from __future__ import annotations

from enum import StrEnum


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
