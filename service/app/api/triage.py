"""The one triage path every surface takes (the API's PATCH, the Slack buttons, the web board): apply a
lead's decision, then wake the workers that retrain the categoriser and tell the reporter."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from service.figures.friction.categorise import Taxonomy
from service.figures.friction.triage import TriageResult, triage
from workers.enqueue import Waker, wake_after_triage


def apply_triage(session: Session, report_id: int, *, taxonomy: Taxonomy, waker: Waker, **changes: Any) -> TriageResult:
    """``triage`` (commits), then the wake-ups, after the commit: a closed report's DM goes out through the
    notification outbox, exactly once, whichever surface closed it."""
    result = triage(session, report_id, taxonomy=taxonomy, **changes)
    wake_after_triage(waker, corrected=result.corrected, notify_reporter=result.notify_reporter)
    return result
