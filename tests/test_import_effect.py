"""The point of importing history: a migration whose first half arrives by import (GitHub's API) and second
half by webhook gets the same causal estimate, interval and verdict as one whose every deployment came by
webhook. The estimate is the digest's (service.effects through GET /api/v1/digests/{week})."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from integrations.history import sources
from service.core.settings import Settings
from tests.factories import iso, issue_token
from tests.helpers import empty_all_tables, make_settings
from tests.history_standins import GhRepo, GitHubStandIn, serve_github
from tests.vendors import github_request
from workers.process import drain

WEEK = "2026-W44"
FIRST = datetime(2026, 8, 3, tzinfo=UTC)  # Monday of 2026-W32
WEEKS = 13
SPLIT = FIRST + timedelta(weeks=6)  # before: imported; from here on: webhooks
MOVES: dict[str, int | None] = {**{f"svc-{i}": 5 + i % 3 for i in range(5)}, **{f"old-{i}": None for i in range(5)}}


def deployments() -> dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Per repository, (deployment, its final status) as GitHub's API shows them: 3 a week on legacy and 6
    on new (moved in week ``MOVES[service]``), with noise, every seventh one failed."""
    rng = random.Random(7)
    found: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for index, (service, moved) in enumerate(MOVES.items()):
        full_name = f"acme/{service}"
        found[full_name] = []
        for week in range(WEEKS):
            rate = 6 if moved is not None and week >= moved else 3
            for n in range(max(0, rate + rng.randint(-1, 1))):
                deployment_id = index * 10_000 + week * 100 + n
                created = FIRST + timedelta(weeks=week, days=n % 5, hours=9 + n)
                deployment = {
                    "url": f"https://api.github.com/repos/{full_name}/deployments/{deployment_id}",
                    "id": deployment_id,
                    "sha": f"{deployment_id:040x}",
                    "ref": "main",
                    "task": "deploy",
                    "payload": {},
                    "environment": "production",
                    "created_at": iso(created),
                    "updated_at": iso(created + timedelta(minutes=6)),
                }
                status = {
                    "id": deployment_id * 10,
                    "state": "failure" if deployment_id % 7 == 0 else "success",
                    "environment": "production",
                    "log_url": "",
                    "target_url": "",
                    "created_at": iso(created + timedelta(minutes=6)),
                }
                found[full_name].append((deployment, status))
    return found


def repository(full_name: str) -> dict[str, Any]:
    return {"id": 1, "name": full_name.split("/")[1], "full_name": full_name, "default_branch": "main"}


def catalogue(client: TestClient, headers: dict[str, str]) -> None:
    migration = {
        "name": "to-new",
        "from_platform": "legacy",
        "to_platform": "new",
        "started_at": iso(FIRST + timedelta(weeks=2)),
        "baseline_weeks": 2,
    }
    assert client.post("/api/v1/migrations", json=migration, headers=headers).status_code == 201
    for service, moved in MOVES.items():
        history = [{"platform": "legacy", "effective_from": "2025-01-01T00:00:00Z"}]
        if moved is not None:
            history.append({"platform": "new", "effective_from": iso(FIRST + timedelta(weeks=moved))})
        body = {"team": "core", "platforms": history}
        assert client.put(f"/api/v1/services/{service}", json=body, headers=headers).is_success


def send(client: TestClient, full_name: str, deployment: dict[str, Any], status: dict[str, Any]) -> None:
    payload = {
        "action": "created",
        "deployment": deployment,
        "deployment_status": status,
        "repository": repository(full_name),
    }
    assert client.post("/webhooks/github", **github_request("deployment_status", payload)).status_code == 202


def effect(client: TestClient, headers: dict[str, str], settings: Settings) -> list[dict[str, Any]]:
    drain(settings)
    response = client.get(f"/api/v1/digests/{WEEK}", params={"audience": "leaders"}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["migration"]["before_after"]
    return items


def test_half_imported_half_by_webhook_gives_the_all_webhook_estimate(
    database_url: str, tmp_path: Path, client: TestClient
) -> None:
    world = deployments()
    settings = make_settings(database_url, tmp_path)
    admin = {"Authorization": f"Bearer {issue_token(settings, 'admin', ['ingest', 'read', 'admin'])}"}
    catalogue(client, admin)
    for full_name, items in world.items():
        for deployment, status in items:
            send(client, full_name, deployment, status)
    by_webhook = effect(client, admin, settings)

    empty_all_tables(database_url)
    admin = {"Authorization": f"Bearer {issue_token(settings, 'admin', ['ingest', 'read', 'admin'])}"}
    catalogue(client, admin)
    repos = {}
    for full_name, items in world.items():
        early = [(d, s) for d, s in items if d["created_at"] < iso(SPLIT)]
        repos[full_name] = GhRepo(
            full_name,
            deployments=[d for d, _ in early][::-1],  # newest first, as GitHub lists them
            statuses={d["id"]: [s] for d, s in early},
        )
        for deployment, status in items[len(early) :]:
            send(client, full_name, deployment, status)
    with serve_github(GitHubStandIn(repos)) as stand_in:
        imported = make_settings(database_url, tmp_path, github_token="ghp-test", github_api_url=stand_in.url)
        summary = sources.run(imported, "github", list(world), since=FIRST - timedelta(days=7), until=SPLIT)
    assert summary.records()["deployment"] == sum(len(r.deployments) for r in repos.values()) > 0
    mixed = effect(client, admin, settings)

    deploys = next(item for item in by_webhook if item["metric"] == "deploys")
    assert deploys["method"] == "staggered_did"  # the story is one the estimator can judge
    assert deploys["relative"] is not None
    assert deploys["low"] < deploys["relative"] < deploys["high"]
    assert mixed == by_webhook
