"""The reads the pages share: the followed migration, the catalogue with move dates, the digest content.

Digest content comes through ``service.digest.build`` (the digest's own public function): what was posted
for a week if it was, else built from the data. A built week is kept in memory for a minute, so paging
through the app does not rebuild it on every click.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from service import catalogue
from service.digest.build import build
from service.models import Digest, Migration, PlatformAssignment
from service.settings import Settings
from service.timeutil import utcnow
from service.web.tables import ServiceFacts

CACHE_SECONDS = 60.0
_cache: dict[tuple[str, str, str], tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def followed_migration(session: Session) -> Migration | None:
    """The migration the digest follows (the latest started), the same rule as ``service.digest.build``."""
    return session.exec(select(Migration).order_by(col(Migration.started_at).desc())).first()


def service_facts(session: Session, *, now: datetime | None = None) -> list[ServiceFacts]:
    """Every catalogued service, its platform now, and when it first ran on the migration's target."""
    now = now or utcnow()
    target = followed_migration(session)
    periods = list(session.exec(select(PlatformAssignment).order_by(col(PlatformAssignment.effective_from))))
    current: dict[str, str] = {}
    moved: dict[str, datetime] = {}
    for period in periods:
        if period.effective_from <= now:
            current[period.service] = period.platform
            if target is not None and period.platform == target.to_platform:
                moved.setdefault(period.service, period.effective_from)
    return [
        ServiceFacts(slug=s.slug, team=s.team, tier=s.tier, platform=current.get(s.slug), moved_at=moved.get(s.slug))
        for s in catalogue.list_services(session)
    ]


def upcoming_moves(session: Session, *, now: datetime | None = None) -> list[PlatformAssignment]:
    """Scheduled moves to the migration's target platform that have not happened yet: the next ones."""
    target = followed_migration(session)
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


def posted_weeks(session: Session) -> dict[tuple[str, str], Digest]:
    return {(d.week, d.audience): d for d in session.exec(select(Digest))}


def digest_content(session: Session, settings: Settings, *, week: str, audience: str) -> dict[str, Any]:
    posted = session.exec(
        select(Digest).where(Digest.week == week, Digest.audience == audience, col(Digest.posted_at).is_not(None))
    ).first()
    if posted is not None:
        stored: dict[str, Any] = posted.content
        return stored
    key = (settings.database_url, week, audience)
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    content = build(session, settings, week=week, audience=audience)
    with _lock:
        if len(_cache) > 256:
            _cache.clear()
        _cache[key] = (time.monotonic() + CACHE_SECONDS, content)
    return content
