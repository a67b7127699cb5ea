"""The keep-digests job: every recent complete week's digest for every audience, kept for the web app and
never posted; bounded runs; unposted recent ones rebuilt once they are old, posted ones never touched."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from service.core.db import get_engine
from service.core.models import Digest, Service
from service.core.settings import Settings
from service.core.timeutil import as_utc, utcnow
from service.core.weeks import RECENT_WEEKS, last_full_week, recent_weeks
from workers.digest import keep_recent, run_digests


def _digests(settings: Settings) -> dict[tuple[str, str], Digest]:
    with Session(get_engine(settings.database_url)) as session:
        return {(d.week, d.audience): d for d in session.exec(select(Digest))}


def test_every_recent_week_for_every_audience_is_kept_and_none_is_posted(settings: Settings) -> None:
    with Session(get_engine(settings.database_url)) as session:
        session.add(Service(slug="ml-api", team="growth"))
        session.add(Service(slug="auth", team="core"))
        session.commit()

    built = keep_recent(settings)

    weeks = recent_weeks(utcnow(), settings.timezone)
    assert len(weeks) == RECENT_WEEKS
    assert last_full_week(utcnow(), settings.timezone) == weeks[0]
    kept = _digests(settings)
    wanted = {(w, a) for w in weeks for a in ("leaders", "team:core", "team:growth")}
    assert set(kept) == wanted
    assert built == len(wanted)
    assert all(d.posted_at is None and d.channel is None for d in kept.values())
    assert all(d.content["week"] == w and d.content["audience"] == a for (w, a), d in kept.items())
    assert keep_recent(settings) == 0  # nothing missing, nothing old: a second run builds nothing


def test_a_run_stops_after_its_budget_and_the_next_goes_on_newest_first(settings: Settings) -> None:
    assert keep_recent(settings, budget_seconds=0.0) == 1  # the budget is checked before each build
    assert set(_digests(settings)) == {(last_full_week(utcnow(), settings.timezone), "leaders")}
    assert keep_recent(settings) == RECENT_WEEKS - 1


def test_unposted_recent_digests_are_rebuilt_when_old_and_a_posted_one_never_is(settings: Settings) -> None:
    keep_recent(settings)
    week = last_full_week(utcnow(), settings.timezone)
    run_digests(settings, None, week=week)  # the weekly job keeps its week (no notifier: not posted)
    long_ago = utcnow() - timedelta(days=2)
    old_week = recent_weeks(utcnow(), settings.timezone)[10]  # older than the four weeks rebuilt
    with Session(get_engine(settings.database_url)) as session:
        session.exec(update(Digest).values(created_at=long_ago))
        posted = recent_weeks(utcnow(), settings.timezone)[1]
        session.exec(update(Digest).where(col(Digest.week) == posted).values(posted_at=long_ago))
        session.commit()

    assert keep_recent(settings) == 3  # weeks 0, 2 and 3 of the last four: week 1 was posted

    kept = _digests(settings)
    assert as_utc(kept[(week, "leaders")].created_at) > long_ago + timedelta(days=1)
    assert as_utc(kept[(old_week, "leaders")].created_at) < long_ago + timedelta(seconds=1)  # left as it was
