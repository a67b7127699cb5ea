"""Deployment frequency below a week (issue 25 #8): the count and the window, never a weekly rate made of
a few days; the digest's week so far says how many deploys so far, not "at 7 a week"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from service.core.settings import Settings
from tests.factories import make_deployment
from workers.process import drain

MONDAY = datetime(2026, 10, 26, tzinfo=UTC)  # 2026-W44


@pytest.fixture
def three_in_three_days(client: TestClient, admin_headers: dict[str, str], settings: Settings) -> None:
    events = [make_deployment(f"d-{day}", finished_at=MONDAY + timedelta(days=day, hours=10)) for day in range(3)]
    assert client.post("/webhooks/generic", json=events, headers=admin_headers).status_code == 202
    drain(settings)


@pytest.mark.usefixtures("three_in_three_days")
def test_three_deployments_in_three_days_are_a_count_not_seven_a_week(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    window = {"from": MONDAY.date().isoformat(), "to": (MONDAY + timedelta(days=3)).date().isoformat()}
    frequency = client.get("/api/v1/metrics/dora", params=window, headers=admin_headers).json()["deployment_frequency"]
    assert frequency["deployments"] == 3
    assert frequency["per_week"] is None
    assert frequency["band"] is None
    assert (frequency["window_days"], frequency["short_window"]) == (3, True)


@pytest.mark.usefixtures("three_in_three_days")
def test_a_week_or_more_is_still_a_rate(client: TestClient, admin_headers: dict[str, str]) -> None:
    for days, rate in ((7, 3.0), (14, 1.5)):
        window = {"from": MONDAY.date().isoformat(), "to": (MONDAY + timedelta(days=days)).date().isoformat()}
        frequency = client.get("/api/v1/metrics/dora", params=window, headers=admin_headers).json()
        assert frequency["deployment_frequency"]["per_week"] == rate
        assert frequency["deployment_frequency"]["short_window"] is False


@pytest.mark.usefixtures("three_in_three_days")
def test_the_digests_week_so_far_counts_deploys_so_far(settings: Settings) -> None:
    from service.core.db import session_scope
    from service.digest.build import build

    wednesday_evening = MONDAY + timedelta(days=2, hours=20)
    with session_scope(settings.database_url) as session:
        partial = build(session, settings, week="2026-W44", audience="leaders", now=wednesday_evening)
    assert partial.partial
    assert partial.summary.startswith("Week so far: 3 deploys,")
    deploys = next(row for row in partial.headline if row.key == "deploys")
    assert deploys.this_week == 3
