"""Building, keeping and posting the weekly digests: one post per (week, audience), whatever happens."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from integrations.slack.digest_blocks import digest_blocks
from integrations.slack.notifier import SlackNotifier
from service.db import session_scope
from service.digest.build import build, claim_post, keep, mark_posted, release
from service.digest.html import render_html
from service.settings import Settings

log = logging.getLogger("frictionlog.digest")


@dataclass(slots=True)
class DigestRun:
    built: int = 0
    posted: int = 0
    already_posted: int = 0


def run_digests(
    settings: Settings, notifier: SlackNotifier | None, *, week: str, audiences: list[str] | None = None
) -> DigestRun:
    """Build and keep every audience's digest for ``week``, and post those with a channel exactly once:
    the row is claimed before posting and marked after, so a second run or a second beat posts nothing."""
    run = DigestRun()
    for audience, channel in settings.digest_audiences.items():
        if audiences is not None and audience not in audiences:
            continue
        with session_scope(settings.database_url) as session:
            content = build(session, settings, week=week, audience=audience)
        with session_scope(settings.database_url, write=True) as session:
            row = keep(
                session,
                week=week,
                audience=audience,
                channel=channel or None,
                content=content,
                html=render_html(content),
            )
        run.built += 1
        if not channel or notifier is None:
            continue
        assert row.id is not None
        with session_scope(settings.database_url, write=True) as session:
            if not claim_post(session, row.id):
                run.already_posted += 1
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
    return run
