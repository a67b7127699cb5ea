"""The triage post's ts is kept on the report (the digest's on the digest: tests/test_schedule.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from integrations import friction_api
from integrations.slack.client import sync_client
from integrations.slack.notifier import WebClientNotifier
from service.core.db import get_engine
from service.core.models import FrictionReport
from service.ingest import inbox
from tests.helpers import make_settings
from tests.slack_fake import FakeSlack, fake_slack
from workers.notify import notify_pending
from workers.process import drain


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with fake_slack() as fake:
        yield fake


def test_a_report_posted_to_the_triage_channel_keeps_the_ts_slack_gave_it(
    database_url: str, tmp_path: Path, slack: FakeSlack
) -> None:
    settings = make_settings(
        database_url, tmp_path, slack_bot_token="xoxb-test", slack_api_url=slack.url, slack_triage_channel="CTRIAGE"
    )
    with Session(get_engine(database_url)) as db:
        inbox.accept(db, [friction_api.delivery({"text": t}, headers={}) for t in ("slow builds", "cold starts")])
        db.commit()
    drain(settings)

    stats = notify_pending(settings, WebClientNotifier(sync_client(settings)))

    assert stats.posted == 2
    with Session(get_engine(database_url)) as db:
        stored = [r.slack_ts for r in db.exec(select(FrictionReport).order_by(FrictionReport.id))]  # type: ignore[arg-type]
    posts = slack.of("chat.postMessage")
    assert len(posts) == 2
    assert stored == ["1700000000.000001", "1700000000.000002"]  # a distinct ts per post, as answered


def test_a_refused_post_keeps_no_ts(database_url: str, tmp_path: Path, slack: FakeSlack) -> None:
    settings = make_settings(
        database_url, tmp_path, slack_bot_token="xoxb-test", slack_api_url=slack.url, slack_triage_channel="CGONE"
    )
    slack.errors[("chat.postMessage", "CGONE")] = "channel_not_found"
    with Session(get_engine(database_url)) as db:
        inbox.accept(db, [friction_api.delivery({"text": "slow builds"}, headers={})])
        db.commit()
    drain(settings)
    assert notify_pending(settings, WebClientNotifier(sync_client(settings))).refused == 1
    with Session(get_engine(database_url)) as db:
        assert db.exec(select(FrictionReport.slack_ts)).one() is None
