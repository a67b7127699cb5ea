"""The weekly pulse's jobs: ask the opted-in members, remind each unanswered one once, and turn the answers
into weekly measurements through the normal ingest path (generic ``measurement`` events into the inbox).

Only members who opted in are ever claimed, so no one else is ever sent a DM; a claim is made before its
DM goes out (``service.figures.pulse.service``), so a retry never asks or reminds twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from integrations import generic
from integrations.slack import pulse as pulse_blocks
from integrations.slack.notifier import SlackNotifier, SlackUnavailable
from service.core.db import session_scope
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.weeks import last_full_week, recent_weeks, week_of, week_window
from service.figures.pulse import compute
from service.figures.pulse import service as pulse
from service.ingest import inbox

log = logging.getLogger("frictionlog.pulse")
MEASURED_WEEKS = 4
"""The pulse's complete weeks measured on every run: late answers and reminders still count."""


@dataclass(frozen=True, slots=True)
class PulseRun:
    sent: int = 0
    failed: int = 0
    measured: int = 0


def _send(settings: Settings, notifier: SlackNotifier, week: str, *, reminder: bool) -> tuple[int, int]:
    with session_scope(settings.database_url, write=True) as session:
        claimed = (pulse.claim_reminders if reminder else pulse.claim_questions)(session, week)
    sent = failed = 0
    text, blocks = pulse_blocks.question(week, reminder=reminder)
    for question in claimed:
        try:
            posted = notifier.post_message(question.slack_user, text, blocks)
        except SlackUnavailable:
            posted = None
        if posted is None:
            failed += 1
            if not reminder and question.id is not None:  # asked again next run; a reminder stays spent
                with session_scope(settings.database_url, write=True) as session:
                    pulse.release(session, question.id)
            continue
        sent += 1
    log.info("pulse.sent week=%s reminder=%s sent=%s failed=%s", week, reminder, sent, failed)
    return sent, failed


def measure(settings: Settings) -> int:
    """The last MEASURED_WEEKS complete weeks' measurements, into the inbox (an unchanged week is a
    duplicate delivery, a changed one replaces its values). Returns the events accepted as new."""
    weeks = recent_weeks(utcnow(), settings.timezone, MEASURED_WEEKS)
    with session_scope(settings.database_url) as session:
        asked, answers = pulse.weekly_frames(session, weeks)
    table = compute.weekly(asked, answers)
    events = pulse.measurement_events(table, {w: week_window(w, settings.timezone) for w in weeks})
    if not events:
        return 0
    with session_scope(settings.database_url, write=True) as session:
        accepted = inbox.accept(session, generic.deliveries(events, headers={}))
    return sum(1 for a in accepted if not a.duplicate)


def ask(settings: Settings, notifier: SlackNotifier | None, *, week: str | None = None) -> PulseRun:
    """The weekly send: measure the weeks before, then ask every opted-in member about ``week`` (this one)."""
    measured = measure(settings)
    if notifier is None:
        return PulseRun(measured=measured)
    sent, failed = _send(settings, notifier, week or week_of(utcnow(), settings.timezone), reminder=False)
    return PulseRun(sent=sent, failed=failed, measured=measured)


def remind(settings: Settings, notifier: SlackNotifier | None, *, week: str | None = None) -> PulseRun:
    """The one reminder about ``week`` (the week just ended) to members who have not answered it."""
    if notifier is None:
        return PulseRun()
    sent, failed = _send(settings, notifier, week or last_full_week(utcnow(), settings.timezone), reminder=True)
    return PulseRun(sent=sent, failed=failed, measured=measure(settings))
