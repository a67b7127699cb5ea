"""A feature's whole life through the real routes, signed as each vendor signs: created and started in
Jira, a branch, a pull request and commits naming it in two repositories, merged, deployed to staging
and then production, done; reopened and shipped again. Time to ship is checked against a hand count."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from service.app.api.app import create_app
from service.core.db import get_engine
from service.core.models.work import WorkItem, WorkItemReference, WorkItemStatus
from service.core.settings import Settings
from service.figures.work.compute import done_not_shipped, time_to_ship
from service.figures.work.service import load_work
from tests.factories import T0, sha
from tests.fakes import RecordingWaker
from tests.helpers import make_settings
from tests.vendors import REPO, gh_commit, gh_deployment_status, gh_pull_request_merged, gh_push, github_request
from tests.work_vendors import WORK_SETTINGS, jira_issue_event, jira_request
from workers.process import drain

LEDGER = {**REPO, "id": 99, "name": "ledger", "full_name": "acme/ledger", "html_url": "https://github.com/acme/ledger"}
DAY = timedelta(days=1)


@pytest.fixture
def work_settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, **WORK_SETTINGS)


@pytest.fixture
def work_client(work_settings: Settings) -> Iterator[TestClient]:
    app = create_app(work_settings, waker=RecordingWaker())
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def github(client: TestClient, event: str, payload: Any) -> None:
    response = client.post("/webhooks/github", **github_request(event, payload))
    assert response.status_code == 202, response.text
    assert response.json()["ignored"] is None, response.json()


def jira(client: TestClient, event: str, status: str, at: datetime, **kwargs: Any) -> None:
    body = jira_issue_event(event, "PROJ-7", status, at, created=T0, **kwargs)
    response = client.post("/webhooks/jira", **jira_request(body))
    assert response.status_code == 202, response.text
    assert response.json()["ignored"] is None


def deploy(client: TestClient, number: int, commit: str, at: datetime, environment: str, repo: dict[str, Any]) -> None:
    payload = gh_deployment_status(number, commit, "success", at, environment=environment)
    payload["repository"] = repo
    payload["deployment"]["payload"] = {}
    github(client, "deployment_status", payload)


def test_a_features_whole_life_and_its_reship(work_client: TestClient, work_settings: Settings) -> None:
    c = work_client
    jira(c, "jira:issue_created", "To Do", T0)
    jira(c, "jira:issue_updated", "In Progress", T0 + 1 * DAY, previous="To Do")  # started: day 1
    # Earlier history on both default branches, so the deployments below are not each service's first.
    github(c, "push", gh_push("main", [gh_commit(sha(1), T0 - 30 * DAY)]))
    github(c, "push", gh_push("main", [gh_commit(sha(2), T0 - 30 * DAY)], repo=LEDGER))
    deploy(c, 1, sha(1), T0 - 20 * DAY, "production", REPO)
    deploy(c, 2, sha(2), T0 - 20 * DAY, "production", LEDGER)
    # checkout-api: a branch named for the item, a commit naming nothing, a pull request naming it.
    branch = "feature/proj-7-wallets"
    github(c, "push", gh_push(branch, [gh_commit(sha(10), T0 + 2 * DAY)]))
    merged = gh_pull_request_merged(5, branch, sha(11), T0 + 3 * DAY)
    merged["pull_request"]["title"] = "Wallets at checkout"
    merged["pull_request"]["body"] = "Implements PROJ-7.\n\nFixes #12"
    github(c, "pull_request", merged)
    github(c, "push", gh_push("main", [gh_commit(sha(11), T0 + 3 * DAY)]))
    deploy(c, 3, sha(11), T0 + 4 * DAY, "staging", REPO)  # staging never ships anything
    deploy(c, 4, sha(11), T0 + 6 * DAY, "production", REPO)
    # ledger: a commit message naming the key, deployed to production earlier than checkout-api.
    ledger_commit = gh_commit(sha(20), T0 + 2 * DAY)
    ledger_commit["message"] = "PROJ-7: ledger entries for wallet payments"
    github(c, "push", gh_push("main", [ledger_commit], repo=LEDGER))
    deploy(c, 5, sha(20), T0 + 5 * DAY + timedelta(hours=12), "production", LEDGER)
    jira(c, "jira:issue_updated", "Done", T0 + 7 * DAY, previous="In Progress")
    # Reopened on day 10, fixed by a commit on day 11, shipped on day 12 at 18:00 (T0 is noon).
    jira(c, "jira:issue_updated", "In Progress", T0 + 10 * DAY, previous="Done")
    fix = gh_commit(sha(30), T0 + 11 * DAY)
    fix["message"] = "Fix rounding in wallet refunds\n\nRefs PROJ-7"
    github(c, "push", gh_push("main", [fix]))
    deploy(c, 6, sha(30), T0 + 12 * DAY + timedelta(hours=6), "production", REPO)
    jira(c, "jira:issue_updated", "Done", T0 + 13 * DAY, previous="In Progress")

    stats = drain(work_settings)
    assert (stats.failed, stats.ignored) == (0, 0)

    with Session(get_engine(work_settings.database_url)) as session:
        frames = load_work(session, environments=frozenset(work_settings.production_environments))
        item = session.exec(select(WorkItem)).one()
        history = session.exec(select(WorkItemStatus.status).order_by(col(WorkItemStatus.changed_at))).all()
        kinds = sorted(session.exec(select(WorkItemReference.key, WorkItemReference.kind)).all())
    samples = time_to_ship(frames.items, frames.history, frames.shipments, frames.references)

    assert (item.key, item.kind, item.status) == ("PROJ-7", "feature", "done")
    assert history == ["open", "in_progress", "done", "in_progress", "done"]
    assert kinds == [
        ("PROJ-7", "branch"),
        ("PROJ-7", "commit"),
        ("PROJ-7", "commit"),
        ("PROJ-7", "pull_request"),
        ("acme/checkout-api#12", "pull_request"),  # "Fixes #12" names the repository's issue 12
    ]
    # Hand count. Cycle 1: started day 1, first production deployment naming it is ledger's at day 5½
    # (checkout-api's at day 6 and the staging one at day 4 do not count) → 4.5 days.
    # Cycle 2: restarted day 10, shipped day 12¼ (the fix, 18:00) → 2.25 days.
    assert list(samples["days"]) == [4.5, 2.25]
    assert list(samples["basis"]) == ["shipped", "shipped"]
    assert list(samples["service"]) == ["ledger", "checkout-api"]
    assert list(samples["cycle"]) == [1, 2]
    assert done_not_shipped(frames.items, frames.history, frames.shipments, frames.references, now=T0 + 20 * DAY).empty


def test_done_without_a_deployment_is_done_but_not_shipped(work_client: TestClient, work_settings: Settings) -> None:
    c = work_client
    jira(c, "jira:issue_created", "To Do", T0)
    jira(c, "jira:issue_updated", "In Progress", T0 + DAY, previous="To Do")
    named = gh_commit(sha(40), T0 + 2 * DAY)
    named["message"] = "PROJ-7 wallets"
    github(c, "push", gh_push("main", [named]))
    deploy(c, 7, sha(40), T0 + 3 * DAY, "staging", REPO)
    jira(c, "jira:issue_updated", "Done", T0 + 4 * DAY, previous="In Progress")
    drain(work_settings)

    with Session(get_engine(work_settings.database_url)) as session:
        frames = load_work(session, environments=frozenset(work_settings.production_environments))
    samples = time_to_ship(frames.items, frames.history, frames.shipments, frames.references)
    waiting = done_not_shipped(frames.items, frames.history, frames.shipments, frames.references, now=T0 + 9 * DAY)

    assert samples.empty  # referenced, so no done fallback: it is waiting for production
    assert list(waiting["key"]) == ["PROJ-7"]
    assert list(waiting["age_days"]) == [5.0]
    assert list(waiting["referenced"]) == [True]


def _work_rows(url: str) -> dict[str, list[Any]]:
    with Session(get_engine(url)) as session:

        def rows(model: Any) -> list[Any]:
            found = [{k: v for k, v in row.model_dump().items() if k != "id"} for row in session.exec(select(model))]
            return sorted((tuple(sorted(row.items(), key=lambda kv: kv[0])) for row in found), key=repr)

        return {"item": rows(WorkItem), "history": rows(WorkItemStatus), "reference": rows(WorkItemReference)}


def test_resends_change_nothing_and_a_rebuild_reproduces_the_work_rows(
    work_client: TestClient, work_settings: Settings
) -> None:
    from click.testing import CliRunner

    from service.app.cli import main
    from service.core.settings import get_settings

    c = work_client
    jira(c, "jira:issue_created", "To Do", T0)
    jira(c, "jira:issue_updated", "In Progress", T0 + DAY, previous="To Do")
    named = gh_commit(sha(50), T0 + 2 * DAY)
    named["message"] = "PROJ-7 wallets"
    github(c, "push", gh_push("main", [gh_commit(sha(1), T0 - 30 * DAY)]))
    deploy(c, 1, sha(1), T0 - 20 * DAY, "production", REPO)
    github(c, "push", gh_push("main", [named]))
    deploy(c, 8, sha(50), T0 + 3 * DAY, "production", REPO)
    drain(work_settings)
    before = _work_rows(work_settings.database_url)
    # The same Jira moves again under new delivery ids (a replay from another tool): nothing changes.
    jira(c, "jira:issue_updated", "In Progress", T0 + DAY, previous="To Do")
    jira(c, "jira:issue_created", "To Do", T0)
    drain(work_settings)
    assert _work_rows(work_settings.database_url) == before

    get_settings.cache_clear()
    try:
        result = CliRunner(env={"FRICTIONLOG_DATABASE_URL": work_settings.database_url}).invoke(
            main, ["rebuild", "--yes"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert _work_rows(work_settings.database_url) == before
    with Session(get_engine(work_settings.database_url)) as session:
        frames = load_work(session, environments=frozenset({"production"}))
    assert list(time_to_ship(frames.items, frames.history, frames.shipments, frames.references)["days"]) == [2.0]
