"""Building, keeping and posting the weekly digests: one post per (week, audience), whatever happens."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select

from integrations.slack.digest_blocks import digest_blocks
from integrations.slack.notifier import SlackNotifier
from service.core.db import session_scope
from service.core.models import Digest
from service.core.settings import Settings
from service.core.timeutil import as_utc, utcnow
from service.core.weeks import recent_weeks
from service.digest.build import CLAIM_FOR, audiences, build, claim_post, keep, mark_posted, release
from service.digest.html import render_html
from service.digest.models import DigestContent
from service.figures import catalogue

log = logging.getLogger("frictionlog.digest")


class PostPending(Exception):
    """A digest another run has claimed and not posted: it may be posting it now, or it was cut off between
    its claim and its post (the claim lapses after ``CLAIM_FOR``). Try again later: never counted as posted."""


@dataclass(slots=True)
class DigestRun:
    built: int = 0
    posted: int = 0
    already_posted: int = 0


KEEP_BUDGET_SECONDS = 120.0
"""One keeping run builds digests for at most this long (the next run goes on where it stopped)."""
REBUILD_AFTER = timedelta(hours=6)
"""An unposted digest of the last four weeks built longer ago than this is built again (late events)."""


def _keep_one(settings: Settings, week: str, audience: str, channel: str | None) -> tuple[Digest, DigestContent]:
    """Build one digest (a read) and keep it with its HTML page (a write): the kept row and its content."""
    with session_scope(settings.database_url) as session:
        content = build(session, settings, week=week, audience=audience)
    with session_scope(settings.database_url, write=True) as session:
        row = keep(session, week=week, audience=audience, channel=channel, content=content, html=render_html(content))
    return row, content


def keep_recent(settings: Settings, *, budget_seconds: float = KEEP_BUDGET_SECONDS) -> int:
    """Build and keep (never post) the digest of every recent complete week for every audience that has
    none, newest first, then rebuild the unposted ones of the last four weeks built over ``REBUILD_AFTER``
    ago; stops once it has spent ``budget_seconds`` (after at least one build). Returns how many it built.
    The web app reads what is kept, so a reader never waits for a build; the weekly post still posts its
    week once (``run_digests``)."""
    now = utcnow()
    weeks = recent_weeks(now, settings.timezone)
    with session_scope(settings.database_url) as session:
        wanted = audiences(settings, catalogue.teams(session))
        kept = {(d.week, d.audience): d for d in session.exec(select(Digest).where(col(Digest.week).in_(weeks)))}
    due = [(w, a) for w in weeks for a in wanted if (w, a) not in kept]
    due += [
        (w, a)
        for w in weeks[:4]
        for a in wanted
        if (row := kept.get((w, a))) is not None
        and row.posted_at is None
        and as_utc(row.created_at) < now - REBUILD_AFTER
    ]
    started, built = time.monotonic(), 0
    for week, audience in due:
        row = kept.get((week, audience))
        _keep_one(settings, week, audience, row.channel if row is not None else None)
        built += 1
        if time.monotonic() - started > budget_seconds:  # checked after a build: every run makes progress
            break
    log.info("digest.kept built=%s due=%s", built, len(due))
    return built


def run_digests(
    settings: Settings, notifier: SlackNotifier | None, *, week: str, audiences: list[str] | None = None
) -> DigestRun:
    """Build and keep every audience's digest for ``week``, and post those with a channel exactly once:
    the row is claimed before posting and marked after, so a second run or a second beat posts nothing."""
    run = DigestRun()
    pending: list[str] = []
    for audience, channel in settings.digest_audiences.items():
        if audiences is not None and audience not in audiences:
            continue
        row, content = _keep_one(settings, week, audience, channel or None)
        run.built += 1
        if not channel or notifier is None:
            continue
        assert row.id is not None
        with session_scope(settings.database_url, write=True) as session:
            if not claim_post(session, row.id):
                posted = session.get(Digest, row.id)
                if posted is not None and posted.posted_at is not None:
                    run.already_posted += 1
                else:
                    pending.append(audience)
                continue
        text, blocks = digest_blocks(content, public_url=settings.public_url)
        try:
            ts = notifier.post_message(channel, text, blocks)
        except Exception:
            with session_scope(settings.database_url, write=True) as session:
                release(session, row.id)
            raise
        with session_scope(settings.database_url, write=True) as session:
            mark_posted(session, row.id, slack_ts=ts)
        run.posted += ts is not None
        log.info("digest.posted week=%s audience=%s channel=%s ts=%s", week, audience, channel, ts)
    if pending:
        raise PostPending(
            f"the {week} digest for {', '.join(pending)} is claimed by another run and not posted yet "
            f"(it is posting it now, or was cut off: its claim lapses after {CLAIM_FOR})"
        )
    return run
