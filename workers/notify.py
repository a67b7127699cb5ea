"""The Slack outboxes, drained by a worker: new reports to the triage channel, resolutions to reporters,
and DMs a listener could not send while Slack's Web API was unreachable (``slack_outbox``).

A report is marked as sent in the transaction that claimed it (rows locked, SKIP LOCKED), after Slack
accepted it; a refusal that retrying cannot fix is logged and marked too, so it is not retried forever.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import col, select

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


@dataclass(slots=True)
class NotifyStats:
    posted: int = 0
    dms: int = 0
    refused: int = 0


def notify_pending(settings: Settings, notifier: SlackNotifier) -> NotifyStats:
    stats = NotifyStats()
    taxonomy = configured_taxonomy(settings)
    with session_scope(settings.database_url, write=True) as session:
        if settings.slack_triage_channel:
            new = session.exec(
                select(FrictionReport)
                .where(col(FrictionReport.triage_posted_at).is_(None), col(FrictionReport.duplicate_of).is_(None))
                .order_by(col(FrictionReport.id))
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            for report in new:
                text = blocks.triage_text(report)
                ts = _send(notifier, settings.slack_triage_channel, text, blocks.triage_message(report, taxonomy))
                report.slack_ts = ts  # the triage message, in the triage channel
                stats.posted += ts is not None
                stats.refused += ts is None
                report.triage_posted_at = utcnow()
                session.commit()
        closed = session.exec(
            select(FrictionReport)
            .where(
                col(FrictionReport.status).in_(CLOSED),
                col(FrictionReport.reporter).is_not(None),
                col(FrictionReport.source) == SLACK_SOURCE,  # only a user id Slack sent is ever DMed
                col(FrictionReport.notified_at).is_(None),
            )
            .order_by(col(FrictionReport.id))
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        for report in closed:
            assert report.reporter is not None
            text, message = blocks.resolution_dm(report)
            sent = _send(notifier, report.reporter, text, message) is not None
            stats.dms += sent
            stats.refused += not sent
            report.notified_at = utcnow()
            session.commit()
        deferred = session.exec(
            select(SlackMessage)
            .where(col(SlackMessage.sent_at).is_(None))
            .order_by(col(SlackMessage.id))
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        for waiting in deferred:
            text = Mrkdwn(waiting.text)  # escaped when it was written (blocks.safe)
            ok = _send(notifier, waiting.channel, text, [blocks.mrkdwn(text)]) is not None
            stats.dms += ok
            stats.refused += not ok
            waiting.sent_at = utcnow()
            session.commit()
    return stats


def _send(notifier: SlackNotifier, channel: str, text: str, message: list[dict[str, object]]) -> str | None:
    """The message ts if posted, None if refused for good; SlackUnavailable propagates (the task retries)."""
    try:
        return notifier.post_message(channel, text, message)
    except SlackUnavailable:
        log.warning("notify.slack_unavailable channel=%s", channel)
        raise
