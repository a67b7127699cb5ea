"""The chaos run, short: under a steady load, SIGKILL a worker, restart Redis, stop PostgreSQL for 5 s.
Every request answered 2xx must be processed exactly once — none missing, none doubled.

The longer run is ``python -m bench.chaos`` (20 s without the database). Both stop and start the real
servers on this machine, and both leave them running.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bench.chaos import Plan, run

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.chaos]


def test_under_load_a_killed_worker_a_restarted_redis_and_a_stopped_database_lose_and_double_nothing(
    tmp_path: Path,
) -> None:
    report = run(Plan(rate=200, phase_seconds=3, database_down_seconds=5, settle_timeout=120), tmp_path, say=log.info)
    counts = "\n".join(report.lines())
    log.info("chaos run:\n%s", counts)  # pytest shows it with the failure, or always with -rA

    assert report.sent > 2000, "the load generator barely ran"
    assert report.spooled > 0, "no request arrived while the database was down: the outage tested nothing"
    assert report.refused == 0, counts  # the spool keeps answering 2xx while the database is down
    assert report.accepted == report.sent, counts
    assert report.missing == 0, counts
    assert report.doubled == 0, counts
    assert report.stored == report.accepted + report.unexpected, counts
    assert report.processed == report.stored, counts
    assert report.applied_more_than_once == 0, counts
