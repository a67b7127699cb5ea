"""One schedule table drives Celery beat and the embedded scheduler; embedded mode posts the digest."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from celery.schedules import crontab
from sqlmodel import Session, col, select

from service.core.db import get_engine
from service.core.models import Digest
from service.core.timeutil import utcnow
from service.core.weeks import last_full_week
from tests.helpers import make_settings
from tests.slack_fake import FakeSlack, fake_slack
from workers.celery_app import create_celery
from workers.embedded import EmbeddedScheduler, EmbeddedWorker
from workers.schedule import SCHEDULE


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with fake_slack() as fake:
        yield fake


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def run_until_probed_twice(worker: EmbeddedWorker, probes: list[float]) -> None:
    """Run the embedded worker until its probe entry has run twice (ten seconds at the most)."""
    worker.start()
    try:
        deadline = time.monotonic() + 10.0
        while len(probes) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.close()


def test_beat_reads_every_entry_of_the_table_with_the_settings(tmp_path: Path) -> None:
    settings = make_settings("sqlite://", tmp_path, digest_day="tue", digest_hour=7, sweep_interval_seconds=42.0)
    beat = create_celery(settings).conf.beat_schedule
    assert list(beat) == [entry.name for entry in SCHEDULE]
    assert {name: item["task"] for name, item in beat.items()} == {entry.name: entry.task for entry in SCHEDULE}
    digest = beat["weekly-digest"]["schedule"]
    assert isinstance(digest, crontab)
    # celery-types' crontab stub leaves out the parsed fields that crontab.__init__ sets.
    fields = (digest.hour, digest.day_of_week, digest.minute)  # type: ignore[attr-defined]
    assert fields == ({7}, {2}, {0})
    assert beat["sweep-inbox"]["schedule"].run_every == timedelta(seconds=42)


def test_embedded_mode_posts_the_weekly_digest_when_it_is_due_and_only_then(
    database_url: str, tmp_path: Path, slack: FakeSlack
) -> None:
    settings = make_settings(
        database_url,
        tmp_path,
        timezone="Europe/Paris",
        digest_day="mon",
        digest_hour=9,
        digest_audiences={"leaders": "CDIGEST"},
        slack_bot_token="xoxb-test-token",
        slack_api_url=slack.url,
    )
    # Monday 30 November 2026, 08:59 in Paris (07:59 UTC): a minute before the digest is due.
    clock = Clock(datetime(2026, 11, 30, 7, 59, tzinfo=UTC))
    scheduler = EmbeddedScheduler(settings, clock=clock)

    ran, wait = scheduler.run_due()
    assert "weekly-digest" not in ran
    assert 0 < wait <= 60
    clock.now += timedelta(minutes=1, seconds=5)
    ran, _ = scheduler.run_due()
    assert "weekly-digest" in ran
    clock.now += timedelta(hours=2)
    ran, _ = scheduler.run_due()
    assert "weekly-digest" not in ran  # once a week, not on every check after it was due

    posts = [body for name, body in slack.calls if name == "chat.postMessage"]
    assert [post["channel"] for post in posts] == ["CDIGEST"]
    with Session(get_engine(database_url)) as session:
        row = session.exec(select(Digest).where(col(Digest.channel).is_not(None))).one()
        kept = session.exec(select(Digest).where(col(Digest.id) != row.id)).all()
    assert all(d.channel is None and d.posted_at is None for d in kept)  # kept for the web app, never posted
    assert (row.week, row.audience, row.channel) == (last_full_week(utcnow(), settings.timezone), "leaders", "CDIGEST")
    assert row.posted_at is not None
    assert row.slack_ts == slack.answer_ts("chat.postMessage", channel="CDIGEST")  # the ts Slack gave the post


def test_a_failing_job_is_retried_a_minute_later_not_in_a_tight_loop(tmp_path: Path) -> None:
    from workers.schedule import Entry

    calls: list[datetime] = []
    clock = Clock(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))

    def flaky(_settings: object) -> None:
        calls.append(clock.now)
        raise RuntimeError("the outside service is down")

    settings = make_settings("sqlite://", tmp_path)
    scheduler = EmbeddedScheduler(
        settings, clock=clock, entries=[Entry("flaky", "frictionlog.test.flaky", 10.0, flaky)]
    )
    for _ in range(12):  # two minutes in ten-second steps
        clock.now += timedelta(seconds=10)
        scheduler.run_due()
    assert [c - calls[0] for c in calls] == [timedelta(0), timedelta(seconds=60)]


def test_only_the_entries_that_catch_up_run_as_the_embedded_scheduler_starts(tmp_path: Path) -> None:
    from workers.schedule import Entry

    ran_jobs: list[str] = []
    clock = Clock(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    entries = [
        Entry("catch-up", "frictionlog.test.catch_up", 600.0, lambda _s: ran_jobs.append("catch-up"), at_start=True),
        Entry("later", "frictionlog.test.later", 600.0, lambda _s: ran_jobs.append("later")),
    ]
    scheduler = EmbeddedScheduler(make_settings("sqlite://", tmp_path), clock=clock, entries=entries)
    assert scheduler.run_due()[0] == ["catch-up"]
    clock.now += timedelta(seconds=601)
    assert scheduler.run_due()[0] == ["catch-up", "later"]
    assert ran_jobs == ["catch-up", "catch-up", "later"]


def test_an_asked_task_runs_on_the_next_pass_and_an_ask_made_while_it_runs_is_kept(tmp_path: Path) -> None:
    """What the embedded worker does when the API asks for an import: the entry runs at once, due or not; a
    second ask that arrives while it runs (a run queued meanwhile) makes it run once more, not never."""
    from workers.schedule import Entry

    calls: list[datetime] = []
    clock = Clock(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))

    def job(_settings: object) -> None:
        calls.append(clock.now)
        if len(calls) == 1:
            scheduler.ask("frictionlog.test.imports")  # another request, while this run is under way

    entries = [Entry("imports", "frictionlog.test.imports", 3600.0, job)]
    scheduler = EmbeddedScheduler(make_settings("sqlite://", tmp_path), clock=clock, entries=entries)
    assert scheduler.run_due()[0] == []  # not due for an hour
    scheduler.ask("frictionlog.test.imports")
    assert scheduler.run_due()[0] == ["imports"]
    assert scheduler.run_due()[0] == ["imports"]  # the ask made during the first run
    assert scheduler.run_due()[0] == []
    assert len(calls) == 2
    scheduler.ask("frictionlog.test.unknown")  # a task with no entry here is ignored
    assert scheduler.run_due()[0] == []


def test_a_weekly_entry_that_runs_at_start_runs_in_a_time_zone_west_of_utc(tmp_path: Path) -> None:
    from workers.schedule import Entry, Weekly

    ran_jobs: list[str] = []
    weekly = Weekly(lambda _s: "mon", lambda _s: 9)
    entries = [Entry("weekly", "frictionlog.test.weekly", weekly, lambda _s: ran_jobs.append("weekly"), at_start=True)]
    settings = make_settings("sqlite://", tmp_path, timezone="America/Los_Angeles")
    clock = Clock(datetime(2026, 12, 2, 18, 0, tzinfo=UTC))  # a Wednesday
    scheduler = EmbeddedScheduler(settings, clock=clock, entries=entries)
    assert scheduler.run_due()[0] == ["weekly"]
    assert scheduler.run_due()[0] == []
    assert ran_jobs == ["weekly"]


def test_a_close_that_lands_just_before_the_background_loop_clears_its_wake_up_starts_nothing(
    tmp_path: Path,
) -> None:
    """close() sets stop, then the background wake-up; if the loop clears that wake-up just after, it must
    still see stop and start no job (an import) after the app has shut down."""
    import threading

    from workers.embedded import EmbeddedWorker
    from workers.schedule import Entry

    settings = make_settings(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    worker = EmbeddedWorker(settings)
    passes: list[int] = []
    probe = Entry("imports", "frictionlog.test.imports", 0.01, lambda _s: passes.append(1), at_start=True)

    class ClosedWhileClearing(threading.Event):
        def clear(self) -> None:
            worker.close()  # lands between the loop's check of stop and its clear
            super().clear()

    worker.background = EmbeddedScheduler(settings, entries=[probe])
    worker._background_wake = ClosedWhileClearing()
    worker._background_loop()
    assert passes == []


def test_while_slack_fails_the_embedded_worker_still_runs_its_schedule(
    database_url: str, tmp_path: Path, slack: FakeSlack
) -> None:
    """A message Slack keeps refusing for now stays in the outbox (tried again later); it must not stop the
    embedded worker's scheduled jobs (the rollups, the weekly digest, the pulse), which ran after it."""
    from service.core.models import SlackMessage
    from workers.embedded import EmbeddedWorker
    from workers.schedule import Entry

    settings = make_settings(database_url, tmp_path, slack_bot_token="xoxb-test-token", slack_api_url=slack.url)
    with Session(get_engine(database_url)) as session:
        session.add(SlackMessage(channel="U0REPORTER", text="Your friction report was filed as #1."))
        session.commit()
    slack.errors[("chat.postMessage", "U0REPORTER")] = "internal_error"  # not final: Slack may take it later
    probes: list[float] = []
    worker = EmbeddedWorker(settings, poll_seconds=0.05)
    probe = Entry("probe", "frictionlog.test.probe", 0.1, lambda _s: probes.append(time.monotonic()))
    worker.scheduler = EmbeddedScheduler(settings, entries=[probe])
    run_until_probed_twice(worker, probes)
    assert len(slack.of("chat.postMessage")) >= 1  # it was tried
    with Session(get_engine(database_url)) as session:
        assert session.exec(select(SlackMessage)).one().sent_at is None  # and kept for later
    assert len(probes) >= 2


def test_a_weekly_run_missed_while_embedded_mode_was_down_runs_when_it_starts_again(
    database_url: str, tmp_path: Path
) -> None:
    """Beat keeps its last runs in a file and runs a missed weekly entry when it starts; embedded mode keeps
    them in the database (``scheduled_run``). A first start runs nothing early; a start after the week's
    moment passed unseen runs it once."""
    from workers.embedded import KeptRuns
    from workers.schedule import Entry, Weekly

    ran: list[datetime] = []
    clock = Clock(datetime(2026, 11, 30, 7, 59, tzinfo=UTC))  # Monday, 08:59 in Paris
    weekly = Entry(
        "weekly", "frictionlog.test.weekly", Weekly(lambda _s: "mon", lambda _s: 9), lambda _s: ran.append(clock.now)
    )
    settings = make_settings(database_url, tmp_path, timezone="Europe/Paris")

    def start() -> EmbeddedScheduler:
        return EmbeddedScheduler(settings, clock=clock, entries=[weekly], kept=KeptRuns(database_url))

    first = start()
    assert first.run_due()[0] == []  # a first start: not due before 09:00
    clock.now += timedelta(minutes=1, seconds=5)
    assert first.run_due()[0] == ["weekly"]
    clock.now = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)  # down over the next Monday's 09:00, back at 11:30
    again = start()
    assert again.run_due()[0] == ["weekly"]
    clock.now += timedelta(minutes=5)
    assert start().run_due()[0] == []  # restarted once more the same morning: it ran already
    assert ran == [datetime(2026, 11, 30, 8, 0, 5, tzinfo=UTC), datetime(2026, 12, 7, 10, 30, tzinfo=UTC)]


def test_a_close_during_a_slow_background_job_starts_no_other_one(tmp_path: Path) -> None:
    """close() while a pull waits on a slow source: the imports due after it in the same pass never start."""
    import threading

    from workers.embedded import EmbeddedWorker
    from workers.schedule import Entry

    settings = make_settings(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    worker = EmbeddedWorker(settings)
    ran: list[str] = []

    def slow_pull(_settings: object) -> None:
        ran.append("pull")
        threading.Thread(target=worker.close).start()  # the app shuts down meanwhile
        time.sleep(0.3)

    entries = [
        Entry("pull", "frictionlog.test.pull", 600.0, slow_pull, background=True, at_start=True),
        Entry("imports", "frictionlog.test.imports", 600.0, lambda _s: ran.append("imports"), at_start=True),
    ]
    worker.background = EmbeddedScheduler(settings, entries=entries)
    worker._background_loop()
    assert ran == ["pull"]


def test_an_outbox_that_fails_otherwise_does_not_stop_the_embedded_schedule_either(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not Slack refusing but the outbox itself failing (a bad taxonomy file, a bug in one message): logged,
    tried again later, and the schedule runs meanwhile."""
    from workers import embedded
    from workers.schedule import Entry

    tries: list[float] = []

    def broken(*_: object) -> None:
        tries.append(time.monotonic())
        raise ValueError("the taxonomy file names no categories")

    monkeypatch.setattr(embedded, "notify_pending", broken)
    settings = make_settings(database_url, tmp_path, slack_bot_token="xoxb-test-token")
    probes: list[float] = []
    worker = embedded.EmbeddedWorker(settings, poll_seconds=0.05)
    worker.scheduler = EmbeddedScheduler(
        settings, entries=[Entry("probe", "frictionlog.test.probe", 0.1, lambda _s: probes.append(time.monotonic()))]
    )
    run_until_probed_twice(worker, probes)
    assert len(probes) >= 2
    assert len(tries) == 1  # tried again only NOTIFY_EVERY_SECONDS later, not on every pass


class _Killed(BaseException):
    """The process dying in the middle of a post (nothing of the run's own clean-up runs)."""


class _RecordingSlack:
    def __init__(self, *, die: bool = False) -> None:
        self.posts: list[str] = []
        self.die = die

    def post_message(self, channel: str, text: str, blocks: list[dict[str, object]]) -> str | None:  # noqa: ARG002
        if self.die:
            raise _Killed
        self.posts.append(channel)
        return f"1700000000.{len(self.posts):06d}"


def test_a_digest_whose_run_was_cut_off_after_its_claim_is_posted_once_the_claim_lapses(
    database_url: str, tmp_path: Path
) -> None:
    """A run killed between claiming the week's post and posting it left the claim: the next run used to call
    the digest "already posted" and nobody ever posted it. It now says the post is pending (the job is tried
    again), and posts it once the claim has lapsed."""
    from service.digest.build import CLAIM_FOR
    from workers.digest import PostPending, run_digests

    settings = make_settings(database_url, tmp_path, digest_audiences={"leaders": "CDIGEST"})
    week = last_full_week(utcnow(), settings.timezone)
    with pytest.raises(_Killed):
        run_digests(settings, _RecordingSlack(die=True), week=week)
    slack = _RecordingSlack()
    with pytest.raises(PostPending, match="claimed by another run"):
        run_digests(settings, slack, week=week)  # within the claim: maybe still posting; not "already posted"
    with Session(get_engine(database_url)) as session:
        row = session.exec(select(Digest).where(col(Digest.channel) == "CDIGEST")).one()
        assert row.posted_at is None
        row.claimed_at = utcnow() - CLAIM_FOR - timedelta(seconds=1)  # the claim has lapsed
        session.add(row)
        session.commit()
    assert run_digests(settings, slack, week=week).posted == 1
    assert run_digests(settings, slack, week=week).already_posted == 1
    assert slack.posts == ["CDIGEST"]


def test_no_task_waits_longer_than_redis_keeps_its_message_from_other_workers(tmp_path: Path) -> None:
    """A worker holds a message it waits on (a countdown, a retry's backoff) unacknowledged; Redis hands it to
    another worker after the visibility timeout, so a longer wait runs the task twice."""
    import importlib

    from service.digest.build import CLAIM_FOR
    from workers.celery_app import VISIBILITY_TIMEOUT_SECONDS, app, configure

    importlib.import_module("workers.tasks")  # registers every task on the worker's app
    configure(app, make_settings("sqlite://", tmp_path))
    assert app.conf.broker_transport_options["visibility_timeout"] == VISIBILITY_TIMEOUT_SECONDS
    waits: dict[str, float] = {
        name: float(getattr(task, "retry_backoff_max", 0))
        for name, task in app.tasks.items()
        if name.startswith("frictionlog.") and getattr(task, "autoretry_for", None)
    }
    assert waits  # the retrying tasks are found
    assert max(waits.values()) < VISIBILITY_TIMEOUT_SECONDS, waits
    assert CLAIM_FOR.total_seconds() < VISIBILITY_TIMEOUT_SECONDS  # the digest's retry after a lapsed claim
