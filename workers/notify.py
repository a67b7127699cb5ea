"""The Slack outboxes, drained by a worker: new reports to the triage channel, resolutions to reporters,
and DMs a listener could not send while Slack's Web API was unreachable (``slack_outbox``).

Each row is claimed (locked, SKIP LOCKED), posted and marked as sent in a transaction of its own, after Slack
accepted it, so two runs at once never post one row twice; a refusal that retrying cannot fix is logged and
marked too, so it is not retried forever. A process killed between Slack's answer and the commit posts
that one row again (at least once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from integrations.registry import SLACK_SOURCE
from integrations.slack import blocks
from integrations.slack.mrkdwn import Mrkdwn
from integrations.slack.notifier import SlackNotifier, SlackUnavailable
from service.core.db import session_scope
from service.core.models import FrictionReport, SlackMessage
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.vocab import CLOSED
from service.figures.friction.categorise import configured_taxonomy

log = logging.getLogger("frictionlog.notify")
BATCH = 50
T = TypeVar("T", FrictionReport, SlackMessage)


@dataclass(slots=True)
class NotifyStats:
    posted: int = 0
    dms: int = 0
    refused: int = 0


def notify_pending(settings: Settings, notifier: SlackNotifier) -> NotifyStats:
    """Post what waits, each row claimed, posted and marked in a transaction of its own: a concurrent run
    (another worker, a beat tick beside a wake-up) skips the row this one holds, and never sees it again once
    it is marked; a row whose post failed for now stays waiting. Up to ``BATCH`` rows of each kind a run."""
    stats = NotifyStats()
    taxonomy = configured_taxonomy(settings)
    channel = settings.slack_triage_channel

    def triage(report: FrictionReport) -> None:
        assert channel is not None
        ts = _send(notifier, channel, blocks.triage_text(report), blocks.triage_message(report, taxonomy))
        report.slack_ts = ts  # the triage message, in the triage channel
        stats.posted += ts is not None
        stats.refused += ts is None
        report.triage_posted_at = utcnow()

    def resolution(report: FrictionReport) -> None:
        assert report.reporter is not None
        text, message = blocks.resolution_dm(report)
        sent = _send(notifier, report.reporter, text, message) is not None
        stats.dms += sent
        stats.refused += not sent
        report.notified_at = utcnow()

    def deferred(waiting: SlackMessage) -> None:
        text = Mrkdwn(waiting.text)  # escaped when it was written (blocks.safe)
        ok = _send(notifier, waiting.channel, text, [blocks.mrkdwn(text)]) is not None
        stats.dms += ok
        stats.refused += not ok
        waiting.sent_at = utcnow()

    if channel:
        new = select(FrictionReport).where(
            col(FrictionReport.triage_posted_at).is_(None), col(FrictionReport.duplicate_of).is_(None)
        )
        _one_at_a_time(settings, new.order_by(col(FrictionReport.id)), triage)
    closed = select(FrictionReport).where(
        col(FrictionReport.status).in_(CLOSED),
        col(FrictionReport.reporter).is_not(None),
        col(FrictionReport.source) == SLACK_SOURCE,  # only a user id Slack sent is ever DMed
        col(FrictionReport.notified_at).is_(None),
    )
    _one_at_a_time(settings, closed.order_by(col(FrictionReport.id)), resolution)
    waiting = select(SlackMessage).where(col(SlackMessage.sent_at).is_(None))
    _one_at_a_time(settings, waiting.order_by(col(SlackMessage.id)), deferred)
    return stats


def _one_at_a_time(settings: Settings, statement: SelectOfScalar[T], post: Callable[[T], None]) -> None:
    """Up to ``BATCH`` rows of ``statement``, each locked (SKIP LOCKED), posted (``post`` marks it) and
    committed in a transaction of its own; SlackUnavailable propagates with the row still waiting."""
    for _ in range(BATCH):
        with session_scope(settings.database_url, write=True) as session:
            row = session.exec(statement.limit(1).with_for_update(skip_locked=True)).first()
            if row is None:
                return
            post(row)
            session.add(row)
            session.commit()


def _send(notifier: SlackNotifier, channel: str, text: str, message: list[dict[str, object]]) -> str | None:
    """The message ts if posted, None if refused for good; SlackUnavailable propagates (the task retries)."""
    try:
        return notifier.post_message(channel, text, message)
    except SlackUnavailable:
        log.warning("notify.slack_unavailable channel=%s", channel)
        raise
