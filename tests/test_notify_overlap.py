"""Two runs of the Slack outbox at once (distributed mode: the beat tick, a triage's wake-up, a retry, on
several workers) post every row once: each row is claimed, posted and marked in its own transaction."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlmodel import Session

from service.core.db import get_engine
from service.core.models import FrictionReport, SlackMessage
from tests.helpers import make_settings
from workers.notify import notify_pending


class SlowSlack:
    """Slack taking a while to answer each post (or its one-message-a-second rate limit)."""

    def __init__(self) -> None:
        self.posts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def post_message(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> str | None:  # noqa: ARG002
        time.sleep(0.1)
        with self._lock:
            self.posts[f"{channel} {text}"] += 1
        return f"{time.time():.6f}"


def test_two_runs_at_once_post_each_report_and_message_once(pg_database_url: str, tmp_path: Path) -> None:
    settings = make_settings(pg_database_url, tmp_path, slack_triage_channel="CTRIAGE")
    with Session(get_engine(pg_database_url)) as session:
        for i in range(6):
            session.add(FrictionReport(id=1000 + i, text=f"report {i}: the deploy pipeline is slow"))
            session.add(SlackMessage(channel=f"U{i}", text=f"Your friction report was filed as #{i}."))
        session.commit()
    slack = SlowSlack()
    runs = [threading.Thread(target=notify_pending, args=(settings, slack)) for _ in range(2)]
    runs[0].start()
    time.sleep(0.25)  # the second run starts while the first is posting
    runs[1].start()
    for run in runs:
        run.join()
    assert len(slack.posts) == 12
    assert set(slack.posts.values()) == {1}
