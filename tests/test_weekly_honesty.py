"""/metrics/weekly says what it cannot vouch for: data-quality warnings (over the window's last four weeks)
in JSON and CSV, and the current, unfinished week marked as the week so far."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from service.core.settings import Settings
from service.core.timeutil import utcnow
from tests.factories import make_change, make_deployment, make_incident
from workers.process import drain


def test_weekly_carries_warnings_and_marks_the_week_so_far(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    now = utcnow()
    events = [
        make_deployment("d-older", finished_at=now - timedelta(weeks=6)),  # before the warnings' four weeks
        make_deployment("d-old", finished_at=now - timedelta(weeks=2)),  # no commits: no lead time
        make_deployment("d-now", finished_at=now - timedelta(minutes=5)),
        make_deployment(  # shipped a commit: not counted (each deployment's own links, not any link at all)
            "d-shipped", finished_at=now - timedelta(weeks=1), commits=[("abc1234", now - timedelta(weeks=1, hours=3))]
        ),
        make_incident("INC-9", started_at=now - timedelta(weeks=2, hours=-1)),  # never resolved
    ]
    assert client.post("/webhooks/generic", json=events, headers=admin_headers).status_code == 202
    drain(settings)
    params = {"group_by": "service", "from": (now - timedelta(weeks=8)).date().isoformat()}

    body = client.get("/api/v1/metrics/weekly", params=params, headers=admin_headers).json()
    csv_text = client.get("/api/v1/metrics/weekly", params={**params, "format": "csv"}, headers=admin_headers).text

    assert body["warnings_from"] < (now - timedelta(weeks=4) + timedelta(minutes=1)).isoformat()
    codes = {w["code"]: w["count"] for w in body["warnings"]}
    assert codes["deployments_without_commits"] == 2
    assert codes["incidents_unresolved"] == 1
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert all("deployments_without_commits: 2" in row["warnings"] for row in rows)
    so_far = [row["week_so_far"] for row in body["rows"]]
    assert so_far[-1] is True
    assert so_far.count(True) == 1


def test_dora_and_weekly_agree_when_the_failure_comes_after_the_window(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    """A deployment on the window's last day fails by an incident that starts the next day, another by a
    rollback the next week: both count for the window in /metrics/dora, as they do in /metrics/weekly."""
    monday = datetime(2026, 10, 5, tzinfo=UTC)  # the week 2026-W41
    sunday = monday + timedelta(days=6, hours=20)
    window = {"from": "2026-10-05", "to": "2026-10-12"}
    week = [
        *[make_deployment(f"ok-{i}", finished_at=monday + timedelta(days=i, hours=9)) for i in range(3)],
        make_deployment("late-incident", finished_at=sunday, commit_sha="a" * 40),
        make_deployment("rolled-back", finished_at=sunday + timedelta(hours=1)),
    ]
    assert client.post("/webhooks/generic", json=week, headers=admin_headers).status_code == 202
    drain(settings)
    before = client.get("/api/v1/metrics/weekly", params={**window, "group_by": "service"}, headers=admin_headers)
    assert before.json()["rows"][0]["failed_deployments"] == 0  # the week's rollup is built before the failures
    later = [
        make_incident("INC-1", started_at=sunday + timedelta(hours=6), caused_by_deployment="late-incident"),
        make_deployment("the-rollback", finished_at=sunday + timedelta(days=2), rollback_of="rolled-back"),
    ]
    assert client.post("/webhooks/generic", json=later, headers=admin_headers).status_code == 202
    drain(settings)

    dora = client.get("/api/v1/metrics/dora", params=window, headers=admin_headers).json()["change_failure_rate"]
    weekly = client.get("/api/v1/metrics/weekly", params={**window, "group_by": "service"}, headers=admin_headers)
    row = next(r for r in weekly.json()["rows"] if r["week"] == "2026-W41")

    assert (dora["failed"], dora["deployments"]) == (2, 5)
    assert (row["failed_deployments"], row["completed_deployments"]) == (2, 5)


def _lead_time(client: TestClient, headers: dict[str, str]) -> dict[str, object]:
    window = {"from": "2026-10-05", "to": "2026-10-19"}
    body: dict[str, object] = client.get("/api/v1/metrics/dora", params=window, headers=headers).json()["lead_time"]
    return body


def test_a_commit_counts_once_for_the_successful_deployment_that_shipped_it_in_any_arrival_order(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    """A commit listed on a failed deployment and then on the successful one that shipped it: n = 1, the
    successful one's time; the service's first production deployment's commits never count."""
    monday = datetime(2026, 10, 5, tzinfo=UTC)
    commit = ("c" * 40, monday + timedelta(days=1))
    events = [
        make_deployment("first", finished_at=monday, commits=[("f" * 40, monday - timedelta(days=300))]),
        make_deployment("failed", status="failure", finished_at=monday + timedelta(days=1, hours=2), commits=[commit]),
        make_deployment("shipped", finished_at=monday + timedelta(days=1, hours=5), commits=[commit]),
        make_deployment("again", finished_at=monday + timedelta(days=2), commits=[commit]),  # a redeploy
    ]
    for event in reversed(events):  # newest first: the judgement may not depend on the order
        assert client.post("/webhooks/generic", json=event, headers=admin_headers).status_code == 202
        drain(settings)

    lead = _lead_time(client, admin_headers)
    assert (lead["n"], lead["median_seconds"]) == (1, 5 * 3600.0)
    assert lead["excluded_by_reason"] == {"first_deployment": 1, "not_shipped": 1, "already_shipped": 1}


def test_a_deployment_naming_a_change_events_sha_gets_its_lead_time(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    """docs/webhooks.md: ``change`` events exist for lead time when deployments do not list their commits."""
    monday = datetime(2026, 10, 5, tzinfo=UTC)
    events = [
        make_deployment("first", finished_at=monday, commit_sha="e" * 40, repository="acme/checkout"),
        make_change("d" * 40, repository="acme/checkout", timestamp=monday + timedelta(days=2), service="checkout-api"),
        make_deployment(
            "named", finished_at=monday + timedelta(days=2, hours=4), commit_sha="d" * 40, repository="acme/checkout"
        ),  # fmt: skip
    ]
    assert client.post("/webhooks/generic", json=events, headers=admin_headers).status_code == 202
    drain(settings)

    lead = _lead_time(client, admin_headers)
    assert (lead["n"], lead["median_seconds"]) == (1, 4 * 3600.0)
