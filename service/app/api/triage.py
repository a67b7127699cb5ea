"""The one triage path every surface takes (the API's PATCH, the Slack buttons, the web board): apply a
lead's decision, then wake the workers that retrain the categoriser and tell the reporter."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from service.core.errors import InvalidInput
from service.figures.friction import reports
from service.figures.friction.categorise import Taxonomy
from service.figures.friction.triage import TriageResult, triage
from workers.enqueue import Waker, wake_after_triage


def apply_triage(session: Session, report_id: int, *, taxonomy: Taxonomy, waker: Waker, **changes: Any) -> TriageResult:
    """``triage`` (commits), then the wake-ups, after the commit: a closed report's DM goes out through the
    notification outbox, exactly once, whichever surface closed it."""
    result = triage(session, report_id, taxonomy=taxonomy, **changes)
    wake_after_triage(waker, corrected=result.corrected, notify_reporter=result.notify_reporter)
    return result


def apply_bulk(
    session: Session, report_ids: list[int], *, taxonomy: Taxonomy, waker: Waker, **changes: Any
) -> list[TriageResult]:
    """The same decision applied to several reports, one ``triage`` each, then the wake-ups once.

    Everything that could refuse the batch is checked before the first report changes: every report
    exists, and a merge target (``duplicate_of``) exists and is an original; the target itself is left out
    of its own merge. InvalidInput names the field (``ids`` or the change's own)."""
    target = changes.get("duplicate_of")
    wanted = sorted({i for i in report_ids if i != target})
    if not wanted:
        raise InvalidInput("choose at least one report (other than the one to merge into)", field="ids")
    missing = reports.missing(session, wanted)
    if missing:
        raise InvalidInput(f"no friction report {', '.join(f'#{i}' for i in missing)}", field="ids")
    results = [triage(session, wanted[0], taxonomy=taxonomy, **changes)]  # refuses a bad change before any commit
    results += [triage(session, number, taxonomy=taxonomy, **changes) for number in wanted[1:]]
    wake_after_triage(
        waker,
        corrected=any(r.corrected for r in results),
        notify_reporter=any(r.notify_reporter for r in results),
    )
    return results
