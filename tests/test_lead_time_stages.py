"""Lead time by stage (issue 25 #9): coding, review and deploy for the pull requests production shipped,
from GitHub deliveries through the API, and the stage rules on frames."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.core.models import PullRequest
from service.core.settings import Settings
from service.figures.metrics.stages import request_stages, weekly_stages
from tests.factories import T0, sha
from tests.vendors import gh_commit, gh_deployment_status, gh_pull_request_merged, gh_push, github_request
from workers.process import drain

HOUR = 3600.0


def post(client: TestClient, event: str, payload: Any) -> None:
    assert client.post("/webhooks/github", **github_request(event, payload)).status_code == 202


def test_the_api_splits_a_pull_requests_lead_time_into_its_stages(
    client: TestClient, settings: Settings, session: Session, admin_headers: dict[str, str]
) -> None:
    post(client, "push", gh_push("main", [gh_commit(sha(1), T0 - timedelta(days=3))]))
    post(client, "deployment_status", gh_deployment_status(1, sha(1), "success", T0 - timedelta(days=2)))
    branch = [gh_commit(sha(10), T0 - timedelta(hours=30)), gh_commit(sha(11), T0 - timedelta(hours=20))]
    post(client, "push", gh_push("feature", branch))
    merged, opened = T0 - timedelta(hours=2), T0 - timedelta(hours=18)
    post(client, "pull_request", gh_pull_request_merged(42, "feature", sha(99), merged, opened=opened))
    post(client, "push", gh_push("main", [gh_commit(sha(99), merged)]))
    post(client, "deployment_status", gh_deployment_status(2, sha(99), "success", T0))
    drain(settings)

    assert session.exec(select(PullRequest.opened_at)).one() == opened
    window = {"from": (T0 - timedelta(days=1)).date().isoformat(), "to": (T0 + timedelta(days=1)).date().isoformat()}
    body = client.get(
        "/api/v1/metrics/lead-time-stages", params={**window, "group_by": "service"}, headers=admin_headers
    ).json()
    assert body["stages"]["review"] == {"from": "opened_at", "to": "merged_at"}
    [row] = body["rows"]
    assert (row["week"], row["group"], row["requests"]) == ("2026-W41", "checkout-api", 1)
    assert row["coding_median_seconds"] == 12 * HOUR  # first commit (T0 - 30 h) → opened (T0 - 18 h)
    assert row["review_median_seconds"] == 16 * HOUR  # opened → merged (T0 - 2 h)
    assert row["deploy_median_seconds"] == 2 * HOUR  # merged → deployed (T0)
    assert (row["coding_n"], row["review_n"], row["deploy_n"]) == (1, 1, 1)


def _pairs(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    columns = ["deployment_id", "committed_at", "finished_at", "excluded", "repository", "pr_number"]
    frame = pd.DataFrame(rows, columns=[*columns, "opened_at", "merged_at"])
    for name in ("committed_at", "finished_at", "opened_at", "merged_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def test_stages_count_only_what_lead_time_counts_and_known_ordered_ends() -> None:
    t = pd.Timestamp(T0)
    h = pd.Timedelta(hours=1)
    rows = request_stages(
        _pairs(
            [
                # request 1, shipped by deployment 7: a commit rebased after it was opened (T - 3 h > T - 5 h)
                (7, t - 3 * h, t, None, "acme/a", 1, t - 5 * h, t - 1 * h),
                # request 2: its vendor did not say when it was opened; one commit excluded (shipped before)
                (7, t - 9 * h, t, None, "acme/a", 2, None, t - 4 * h),
                (7, t - 99 * h, t, "already_shipped", "acme/a", 2, None, t - 4 * h),
                # request 3: only excluded pairs, so lead time does not count it and neither do its stages
                (7, t - 8 * h, t, "first_deployment", "acme/a", 3, t - 7 * h, t - 6 * h),
            ]
        )
    )
    by_request = {int(r["pr_number"]): r for r in rows.to_dict(orient="records")}
    assert sorted(by_request) == [1, 2]
    assert (by_request[1]["review"], by_request[1]["deploy"]) == (4 * HOUR, 1 * HOUR)
    assert math.isnan(by_request[1]["coding"])  # its end is before its start: not counted
    assert by_request[2]["first_commit"] == t - 9 * h  # the excluded commit is not its first
    assert math.isnan(by_request[2]["coding"])
    assert math.isnan(by_request[2]["review"])
    assert by_request[2]["deploy"] == 4 * HOUR


def test_weekly_stages_take_production_deployments_and_count_commits_without_a_request_apart() -> None:
    t = pd.Timestamp(T0)
    h = pd.Timedelta(hours=1)
    deployments = pd.DataFrame(
        [
            (1, "production", "success", t, "api"),
            (2, "staging", "success", t, "api"),  # not production: nothing it shipped counts
            (3, "production", "success", t + 1 * h, "api"),
        ],
        columns=["id", "environment", "status", "finished_at", "service"],
    )
    pairs = _pairs(
        [
            (1, t - 10 * h, t, None, "acme/a", 5, t - 8 * h, t - 2 * h),
            (2, t - 10 * h, t, None, "acme/a", 6, t - 8 * h, t - 2 * h),
            (3, t - 3 * h, t + 1 * h, None, "acme/a", None, None, None),  # pushed without a request
            (3, t - 30 * h, t + 1 * h, None, "acme/a", 7, t - 20 * h, t - 4 * h),
        ]
    )
    [row] = weekly_stages(
        deployments, pairs, tz="UTC", environments=frozenset({"production"}), group_by="service"
    ).to_dict(orient="records")
    assert (row["group"], row["requests"], row["commits_without_request"]) == ("api", 2, 1)
    assert (row["coding_median_seconds"], row["review_median_seconds"]) == (6 * HOUR, 11 * HOUR)  # (2+10)/2, (6+16)/2
    assert (row["deploy_median_seconds"], row["deploy_n"]) == (3.5 * HOUR, 2)  # (2 + 5) / 2
