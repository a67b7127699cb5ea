"""Triage by a lead: confirm or correct the category, link a duplicate, resolve — and learn from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from service.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from service.core.models import CategoriserModel, FrictionReport
from service.core.timeutil import utcnow
from service.core.vocab import CLOSED, CategorySource, ReportStatus
from service.figures.friction import learning, privacy
from service.figures.friction.categorise import Taxonomy

STATUSES = tuple(ReportStatus)


@dataclass(frozen=True, slots=True)
class TriageResult:
    report: FrictionReport
    notify_reporter: bool
    """The report was just closed and has a reporter to tell (anonymous reports have none)."""
    corrected: bool
    """The category was set by hand: the categoriser should retrain."""


def triage(
    session: Session,
    report_id: int,
    *,
    taxonomy: Taxonomy,
    category: str | None = None,
    status: str | None = None,
    resolution_note: str | None = None,
    duplicate_of: int | None = None,
) -> TriageResult:
    """Apply a lead's decisions to a report (commits). A duplicate's votes move to its original."""
    report = session.get(FrictionReport, report_id, with_for_update=True)
    if report is None:
        raise NotFound(f"no friction report #{report_id}")
    corrected = False
    if category is not None:
        if category not in taxonomy.ids():
            raise InvalidInput(f"unknown category {category!r}; one of {', '.join(taxonomy.ids())}", field="category")
        report.category, report.category_source, report.confidence = category, CategorySource.HUMAN, 1.0
        report.evidence = ["set by a lead"]
        report.corrected_at = utcnow()
        corrected = True
    if duplicate_of is not None:
        _mark_duplicate(session, report, duplicate_of)
    was_closed = report.status in CLOSED
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
        report.status = status
        report.resolved_at = utcnow() if status in CLOSED else None
    if resolution_note is not None:
        report.resolution_note = resolution_note
    notify = report.status in CLOSED and not was_closed and report.reporter is not None
    session.commit()
    session.refresh(report)
    return TriageResult(report=report, notify_reporter=notify, corrected=corrected)


def add_detail(
    session: Session,
    report_id: int,
    *,
    reporter: str,
    service: str | None = None,
    minutes_lost: int | None = None,
    impact: int | None = None,
    frequency: str | None = None,
    blocking: bool | None = None,
    anonymous: bool | None = None,
) -> FrictionReport:
    """The reporter adds what they left out (commits). Only the reporter may; asking for anonymity now
    drops the identity that was stored."""
    report = session.get(FrictionReport, report_id, with_for_update=True)
    if report is None:
        raise NotFound(f"no friction report #{report_id}")
    if report.reporter != reporter:
        raise Forbidden("only the reporter can add detail to a report")
    if impact is not None and not 1 <= impact <= 6:
        raise InvalidInput("impact is 1 to 6", field="impact")
    for name, value in (
        ("service", service),
        ("minutes_lost", minutes_lost),
        ("impact", impact),
        ("frequency", frequency),
        ("blocking", blocking),
    ):
        if value is not None:
            setattr(report, name, value)
    if anonymous:
        privacy.make_anonymous(session, report)  # the report, its inbox body and the outbox: nowhere
    session.commit()
    session.refresh(report)
    return report


def _mark_duplicate(session: Session, report: FrictionReport, original_id: int) -> None:
    if original_id == report.id:
        raise InvalidInput("a report cannot duplicate itself", field="duplicate_of")
    original = session.get(FrictionReport, original_id, with_for_update=True)
    if original is None:
        raise InvalidInput(f"no friction report #{original_id}", field="duplicate_of")
    if original.duplicate_of is not None:
        raise Conflict(f"#{original_id} is itself a duplicate of #{original.duplicate_of}", field="duplicate_of")
    if report.duplicate_of is None:
        original.votes += report.votes
    report.duplicate_of = original_id


def corrections(session: Session, *, until: datetime | None = None) -> list[tuple[str, str]]:
    """(text, category) of every report whose category a lead set, up to ``until``."""
    statement = select(FrictionReport.text, FrictionReport.category).where(
        FrictionReport.category_source == CategorySource.HUMAN
    )
    if until is not None:
        statement = statement.where(col(FrictionReport.corrected_at) <= until)
    return [(text, category) for text, category in session.exec(statement)]


def publish_model(session: Session) -> CategoriserModel | None:
    """Record a new categoriser version from the corrections so far (commits).

    None when there is too little to learn from, or nothing new since the last version.
    """
    rows = corrections(session)
    texts, labels = [text for text, _ in rows], [label for _, label in rows]
    if len(rows) < learning.MIN_SAMPLES or len(set(labels)) < 2:
        return None
    newest = session.exec(select(CategoriserModel).order_by(col(CategoriserModel.id).desc())).first()
    last_correction = session.exec(select(func.max(FrictionReport.corrected_at))).one()
    if newest is not None and newest.samples == len(rows) and last_correction and newest.trained_at >= last_correction:
        return None
    version = CategoriserModel(
        samples=len(rows),
        classes=sorted(set(labels)),
        cross_validated_accuracy=learning.cross_validated_accuracy(texts, labels),
    )
    session.add(version)
    session.commit()
    session.refresh(version)
    return version


_loaded: dict[str, learning.LearnedModel | None] = {}


def current_model(session: Session, *, cache_key: str) -> learning.LearnedModel | None:
    """The newest published version, fitted in this process once per version (cheap: short texts)."""
    newest = session.exec(select(CategoriserModel).order_by(col(CategoriserModel.id).desc())).first()
    if newest is None or newest.id is None:
        return None
    cached = _loaded.get(cache_key)
    if cached is not None and cached.version == newest.id:
        return cached
    rows = corrections(session, until=newest.trained_at)
    model = learning.fit([t for t, _ in rows], [c for _, c in rows], version=newest.id)
    _loaded[cache_key] = model
    return model
