"""The pulse's database work: opting in and out, claiming the weekly question and the one reminder,
storing answers, and the week's measurement rows.

At most once: a question is claimed (its row inserted, unique per week and member) before the DM is
sent, and a reminder is claimed (``reminded_at`` set where it was empty) before it is sent, so a crash
between claim and send loses a message rather than doubling it; a send Slack refuses or cannot take now
gives its claim back (``release``) for the next run. Only members with ``opted_in`` are ever claimed.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from service.core.errors import InvalidInput
from service.core.models import PulseAnswer, PulseMember, PulseQuestion
from service.core.timeutil import utcnow
from service.figures.pulse import compute

MAX_ABOUT = 500


def member(session: Session, slack_user: str) -> PulseMember | None:
    return session.get(PulseMember, slack_user)


def set_membership(
    session: Session,
    slack_user: str,
    *,
    opted_in: bool | None = None,
    anonymous: bool | None = None,
    service: str | None = None,
) -> PulseMember:
    """Opt in or out, choose anonymity or the service answered for (commits). Unset arguments keep."""
    row = session.get(PulseMember, slack_user, with_for_update=True) or PulseMember(slack_user=slack_user)
    if opted_in is not None:
        row.opted_in = opted_in
    if anonymous is not None:
        row.anonymous = anonymous
    if service is not None:
        row.service = service or None
    row.changed_at = utcnow()
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def respondent(slack_user: str, *, anonymous: bool, key: bytes) -> str:
    """Who an answer is stored under: the user id, or for an anonymous member a keyed digest of it (one
    answer per person-week, and no way back to the person without the key)."""
    if not anonymous:
        return slack_user
    return "anon:" + hmac.new(key, slack_user.encode(), hashlib.sha256).hexdigest()[:40]


def claim_questions(session: Session, week: str) -> list[PulseQuestion]:
    """Claim this week's question for every opted-in member not asked yet (commits): the DMs to send."""
    asked = set(session.exec(select(PulseQuestion.slack_user).where(PulseQuestion.week == week)).all())
    members = session.exec(select(PulseMember).where(col(PulseMember.opted_in).is_(True))).all()
    claimed = []
    for m in members:
        if m.slack_user in asked:
            continue
        question = PulseQuestion(week=week, slack_user=m.slack_user, service=m.service)
        try:
            with session.begin_nested():
                session.add(question)
        except IntegrityError:  # another sender claimed it first: theirs to send
            continue
        claimed.append(question)
    session.commit()
    return claimed


def release(session: Session, question_id: int) -> None:
    """Give back a claim whose DM could not be sent (commits): the next run asks again."""
    question = session.get(PulseQuestion, question_id)
    if question is not None:
        session.delete(question)
        session.commit()


def claim_reminders(session: Session, week: str) -> list[PulseQuestion]:
    """Claim the one reminder of every unanswered question of ``week`` whose member is still opted in
    (commits). A question is reminded at most once, ever."""
    opted = select(PulseMember.slack_user).where(col(PulseMember.opted_in).is_(True))
    due = session.exec(
        select(PulseQuestion).where(
            PulseQuestion.week == week,
            col(PulseQuestion.answered).is_(False),
            col(PulseQuestion.reminded_at).is_(None),
            col(PulseQuestion.slack_user).in_(opted),
        )
    ).all()
    claimed = []
    for question in due:
        won = session.connection().execute(
            update(PulseQuestion)
            .where(col(PulseQuestion.id) == question.id, col(PulseQuestion.reminded_at).is_(None))
            .values(reminded_at=utcnow())
        )
        if won.rowcount == 1:
            claimed.append(question)
    session.commit()
    return claimed


@dataclass(frozen=True, slots=True)
class Answered:
    week: str
    bucket: compute.Bucket
    replaced: bool


def record_answer(
    session: Session,
    slack_user: str,
    *,
    week: str,
    key: bytes,
    bucket: str | None = None,
    about: str | None = None,
) -> Answered:
    """Store a member's answer for ``week`` (commits): one per person-week, a later one replaces it; with
    only ``about``, the what-was-it-about of the answer already given. Only a member asked that week may
    answer (InvalidInput otherwise)."""
    if bucket is not None and bucket not in compute.BY_KEY:
        raise InvalidInput(f"unknown answer {bucket!r}", field="bucket")
    question = session.exec(
        select(PulseQuestion).where(PulseQuestion.week == week, PulseQuestion.slack_user == slack_user)
    ).first()
    who = session.get(PulseMember, slack_user)
    if question is None or who is None:
        raise InvalidInput("this pulse was not sent to you", field="week")
    name = respondent(slack_user, anonymous=who.anonymous, key=key)
    answer = _earlier_answer(session, slack_user, week=week, key=key, name=name)
    replaced = answer is not None
    if answer is None:
        if bucket is None:
            raise InvalidInput("choose how many hours first", field="bucket")
        answer = PulseAnswer(week=week, respondent=name, bucket=bucket)
    if bucket is not None:
        answer.bucket, answer.service, answer.answered_at = bucket, question.service, utcnow()
    if about is not None:
        answer.about = about.strip()[:MAX_ABOUT] or None
    question.answered = True
    session.add_all([answer, question])
    session.commit()
    return Answered(week=week, bucket=compute.BY_KEY[answer.bucket], replaced=replaced)


def _earlier_answer(session: Session, slack_user: str, *, week: str, key: bytes, name: str) -> PulseAnswer | None:
    """The member's answer for ``week`` already stored, under either of their names (a member who turned
    anonymous after answering, or back): one answer per person-week, stored under ``name``, the current one
    (so turning anonymous leaves no named answer behind)."""
    names = {name, *(respondent(slack_user, anonymous=anonymous, key=key) for anonymous in (False, True))}
    found = session.exec(
        select(PulseAnswer).where(PulseAnswer.week == week, col(PulseAnswer.respondent).in_(names))
    ).all()
    if not found:
        return None
    kept = next((a for a in found if a.respondent == name), found[0])
    for other in found:
        if other is not kept:
            session.delete(other)
    session.flush()
    kept.respondent = name
    return kept


def weekly_frames(session: Session, weeks: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(asked, answers) of ``weeks`` for ``compute.weekly``."""
    asked = session.exec(
        select(PulseQuestion.week, PulseQuestion.service).where(col(PulseQuestion.week).in_(weeks))
    ).all()
    answers = session.exec(
        select(PulseAnswer.week, PulseAnswer.service, PulseAnswer.bucket).where(col(PulseAnswer.week).in_(weeks))
    ).all()
    return (
        pd.DataFrame([tuple(r) for r in asked], columns=["week", "service"]),
        pd.DataFrame([tuple(r) for r in answers], columns=["week", "service", "bucket"]),
    )


def measurement_events(table: pd.DataFrame, windows: dict[str, tuple[datetime, datetime]]) -> list[dict[str, object]]:
    """Generic ``measurement`` events (the normal ingest path) of ``compute.weekly``'s rows: the mean (only
    where someone answered), the number of answers and the response rate, per service and week, with stable
    ids so a re-run replaces its values."""
    events: list[dict[str, object]] = []
    for row in table.to_dict(orient="records"):
        start, end = windows[str(row["week"])]
        period = {"period_start": start.isoformat(), "period_end": end.isoformat(), "service": row["service"]}
        if row["answered"]:
            events.append(
                {
                    "type": "measurement",
                    "id": f"pulse:{row['week']}:{row['service']}:hours",
                    "metric": compute.METRIC,
                    "value": float(row["mean_hours"]),
                    "unit": "hours",
                    **period,
                }
            )
        events.append(
            {
                "type": "measurement",
                "id": f"pulse:{row['week']}:{row['service']}:responses",
                "metric": compute.RESPONSES_METRIC,
                "value": float(row["answered"]),
                "unit": "count",
                **period,
            }
        )
        events.append(
            {
                "type": "measurement",
                "id": f"pulse:{row['week']}:{row['service']}:rate",
                "metric": compute.RATE_METRIC,
                "value": float(row["response_rate"]),
                "unit": "ratio",
                **period,
            }
        )
    return events
