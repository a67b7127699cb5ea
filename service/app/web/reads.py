"""The reads the pages share: the followed migration, the catalogue with move dates, the digest content.

Digest content comes through ``service.digest.build`` (the digest's own public function): what the digest
jobs kept for that week and audience (``workers.digest.keep_recent``: every recent complete week for every
audience, so a reader rarely finds one missing), else built in the background and remembered
(``service.app.web.cache``) until the data changes: the page says "being prepared" meanwhile rather than make
its reader wait for a build (seconds on a large install, see BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from service.app.web import cache
from service.app.web.tables import ServiceFacts
from service.core.db import session_scope
from service.core.models import Digest, PlatformAssignment
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.weeks import week_window
from service.digest import assumptions, scoped
from service.digest.build import build, check_request, digest_input
from service.digest.html import render_html
from service.digest.models import DigestContent, ScorecardPart, read_stored
from service.digest.scorecard import rescore
from service.figures import catalogue


def service_facts(session: Session, *, now: datetime | None = None) -> list[ServiceFacts]:
    """Every catalogued service, its platform now, and when it first ran on the migration's target."""
    now = now or utcnow()
    target = catalogue.followed_migration(session)
    moved = {} if target is None else catalogue.move_dates(session, target.to_platform, as_of=now)
    current: dict[str, str] = {}
    for period in session.exec(select(PlatformAssignment).order_by(col(PlatformAssignment.effective_from))):
        if period.effective_from <= now:
            current[period.service] = period.platform
    return [
        ServiceFacts(slug=s.slug, team=s.team, tier=s.tier, platform=current.get(s.slug), moved_at=moved.get(s.slug))
        for s in catalogue.list_services(session)
    ]


def upcoming_moves(session: Session, *, now: datetime | None = None) -> list[PlatformAssignment]:
    """Scheduled moves to the migration's target platform that have not happened yet: the next ones."""
    target = catalogue.followed_migration(session)
    if target is None:
        return []
    return list(
        session.exec(
            select(PlatformAssignment)
            .where(
                PlatformAssignment.platform == target.to_platform,
                col(PlatformAssignment.effective_from) > (now or utcnow()),
            )
            .order_by(col(PlatformAssignment.effective_from))
        )
    )


def posted_weeks(session: Session) -> set[tuple[str, str]]:
    """(week, audience) of every posted digest: the columns alone, never the kept contents."""
    statement = select(Digest.week, Digest.audience).where(col(Digest.posted_at).is_not(None))
    return {(week, audience) for week, audience in session.exec(statement).all()}


def digest_content(
    session: Session, settings: Settings, *, week: str, audience: str, memo: cache.PageMemo
) -> DigestContent | None:
    """The kept digest; else one built in the background (``PageMemo.peek``): None until it is ready.
    InvalidInput for a week or audience that cannot have one, before anything is started."""
    check_request(week, audience, settings.timezone)
    kept = session.exec(select(Digest).where(Digest.week == week, Digest.audience == audience)).first()
    if kept is not None:
        return read_stored(kept.content)

    def compute() -> DigestContent:
        with session_scope(settings.database_url) as own:
            return build(own, settings, week=week, audience=audience)

    return memo.peek(
        ("digest", settings.database_url, week, audience),
        cache.data_version(session),
        compute,
        stale_ok=lambda content: not content.empty,  # never "a quiet week" from before the data came in
    )


RESCOPE_WAIT = 0.05
"""How long a narrowed overview waits for its re-estimate before showing the whole migration's scorecard
meanwhile: a re-estimate takes a second or more (13 metrics' bootstraps), so waiting the digest's
``cache.PEEK_WAIT`` would only add to the page's first answer (bench.web)."""


def scoped_scorecard(
    session: Session,
    settings: Settings,
    *,
    week: str,
    content: DigestContent,
    chosen: tuple[str, ...],
    first: str | None,
    memo: cache.PageMemo,
) -> ScorecardPart | None:
    """The scorecard re-estimated for the ``chosen`` services over the weeks from ``first`` to ``week``
    (``service.digest.scoped``: treated restricted to them, every service a control), built in the
    background like a digest: None until it is ready (or without a migration section)."""
    whole = content.migration
    if whole is None:
        return None

    def compute() -> ScorecardPart:
        with session_scope(settings.database_url) as own:
            data = digest_input(own, settings, week=week, audience="leaders")
        start = None if first is None else week_window(first, settings.timezone)[0]
        return scoped.scoped_scorecard(data, whole, chosen=chosen, first=start, cost=content.cost)

    key = ("scoped-scorecard", settings.database_url, week, content.audience, chosen, first)
    return memo.peek(key, cache.data_version(session), compute, wait=RESCOPE_WAIT)


def _valued_at(stored: dict[str, Any]) -> dict[str, float]:
    """The assumptions a kept digest's net line was valued at (empty without one), from its stored JSON."""
    net = (stored.get("scorecard") or {}).get("net") or {}
    return {a["key"]: float(a["value"]) for a in net.get("assumptions", [])}


def digest_html(session: Session, settings: Settings, *, week: str, audience: str, memo: cache.PageMemo) -> str | None:
    """The self-contained HTML digest, rendered once: the page the digest job kept with it, as kept, while
    the assumptions it was valued at are still in force; else rendered from the content (valued at the
    current assumptions) and remembered until the data or the assumptions change. None while the content
    is still being built."""
    check_request(week, audience, settings.timezone)
    current = assumptions.current(session, settings)
    kept = session.exec(select(Digest).where(Digest.week == week, Digest.audience == audience)).first()
    if kept is not None:
        stored = kept.content
        if kept.html and _valued_at(stored) in ({}, asdict(current)):
            return kept.html
        key = ("digest-html", settings.database_url, week, audience, kept.id, kept.created_at, current)
        return memo.remember(
            key, 0, lambda: render_html(rescore(read_stored(stored), current, settings.reporting_currency))
        )
    content = digest_content(session, settings, week=week, audience=audience, memo=memo)
    if content is None:
        return None
    valued = rescore(content, current, settings.reporting_currency)
    built = ("digest-html", settings.database_url, week, audience, current)
    return memo.remember(built, cache.data_version(session), lambda: render_html(valued))
