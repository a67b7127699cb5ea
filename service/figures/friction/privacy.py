"""Removing a reporter's identity everywhere it is kept: the report, its inbox body, the outbox.

Anonymous means no identity anywhere: a report made anonymous after it was filed ("Add detail →
anonymous") and a reporter who asks to be forgotten (``frictionlog reporters forget``) both lose the
Slack user id (or API contact) from the friction report *and* from the raw inbox body it came from —
otherwise a rebuild from the inbox would bring the identity back. The notification outbox is the set
of closed reports with a reporter and no ``notified_at``: clearing the reporter takes a report out of it.
The reports themselves are kept, as anonymous ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlmodel import Session, col, or_, select

from service.core.models import FrictionReport, InboxEvent, SlackMessage

IDENTITY_FIELDS = ("reporter",)
"""The fields of a stored friction body that name a person."""
FRICTION_EVENT = "friction"


def scrub_body(body: str) -> str:
    """A stored friction body without its identity, marked anonymous (unchanged if it names nobody)."""
    try:
        value = json.loads(body)
    except json.JSONDecodeError:
        return body
    if not isinstance(value, dict) or not any(field in value for field in IDENTITY_FIELDS):
        return body
    for field in IDENTITY_FIELDS:
        value.pop(field, None)
    value["anonymous"] = True
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _names(body: str, identity: str) -> bool:
    try:
        value = json.loads(body)
    except json.JSONDecodeError:
        return False
    return isinstance(value, dict) and any(value.get(field) == identity for field in IDENTITY_FIELDS)


def make_anonymous(session: Session, report: FrictionReport) -> None:
    """Drop the report's identity, its inbox body's, and the outbox's messages to them about it (the
    caller commits)."""
    if report.reporter:
        waiting = session.exec(
            select(SlackMessage).where(
                SlackMessage.channel == report.reporter,
                col(SlackMessage.sent_at).is_(None),
                col(SlackMessage.text).contains(f"#{report.id}"),
            )
        ).all()
        for message in waiting:
            session.delete(message)
    report.reporter = None
    report.contact = None
    row = session.get(InboxEvent, report.id)
    if row is not None and row.event_type == FRICTION_EVENT:
        row.body = scrub_body(row.body)


@dataclass(frozen=True, slots=True)
class Forgotten:
    reports: int
    """Reports kept, now anonymous."""
    inbox_rows: int
    """Stored bodies scrubbed (including ones no worker has processed yet)."""
    outbox: int = 0
    """Messages to them that were waiting in the Slack outbox, deleted."""


def forget_reporter(session: Session, identity: str) -> Forgotten:
    """Remove ``identity`` (a Slack user id, or an API contact) from every report and inbox body (commits)."""
    reports = session.exec(
        select(FrictionReport)
        .where(or_(col(FrictionReport.reporter) == identity, col(FrictionReport.contact) == identity))
        .with_for_update()
    ).all()
    for report in reports:
        report.reporter = None
        report.contact = None
    waiting = session.exec(select(SlackMessage).where(SlackMessage.channel == identity)).all()
    for message in waiting:
        session.delete(message)
    # Bodies are JSON text: a LIKE narrows the scan, the parse decides (a substring is not a match).
    pattern = "%" + identity.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = session.exec(
        select(InboxEvent).where(
            InboxEvent.event_type == FRICTION_EVENT, col(InboxEvent.body).like(pattern, escape="\\")
        )
    ).all()
    scrubbed = 0
    for row in rows:
        if _names(row.body, identity):
            row.body = scrub_body(row.body)
            scrubbed += 1
    session.commit()
    return Forgotten(reports=len(reports), inbox_rows=scrubbed, outbox=len(waiting))
