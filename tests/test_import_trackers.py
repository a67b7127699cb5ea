"""``frictionlog import gitlab | opsgenie | jira | linear``: each importer against its local stand-in,
through the inbox and the workers, into the rows the webhooks make; re-running changes nothing; the
vendors' rate-limit answers are waited out."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session, select

from integrations.config import IntegrationConfig
from integrations.history import sources
from integrations.history.runner import ImportSummary
from service.core.db import get_engine
from service.core.models import Change, Deployment, Incident, PullRequest, WorkItem, WorkItemStatus
from service.core.settings import Settings
from tests.helpers import empty_all_tables, make_settings
from tests.tracker_standins import START, TrackerStandIn, serve_trackers
from tests.vendors import OPSGENIE_TOKEN
from workers.process import drain

MAPPING = IntegrationConfig().work_mapping


def settings_for(database_url: str, tmp_path: Path, url: str) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        gitlab_token="glpat-test",
        gitlab_api_url=f"{url}/api/v4",
        opsgenie_api_key="og-key",
        opsgenie_api_url=url,
        jira_email="jane@example.com",
        jira_api_token="jira-token",
        jira_api_url=url,
        linear_api_key="lin_api_test",
        linear_api_url=f"{url}/graphql",
        workflow_environments={"deploy": "production"},
    )


def run(settings: Settings, source: str, target: str, days: int, **client: Any) -> ImportSummary:
    options = {"sleep": lambda _s: None, "backoff_seconds": 0.0, **client}
    until = START + timedelta(days=days)
    return sources.run(settings, source, [target], since=START, until=until, client_options=options)


def rows(settings: Settings, model: Any) -> list[Any]:
    with Session(get_engine(settings.database_url)) as session:
        return list(session.exec(select(model)).all())


def shown(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def when(text: str) -> str:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%dT%H:%M:%SZ")


def finished(deployment: dict[str, Any]) -> str:
    job = deployment["deployable"]
    return str(job["finished_at"] if job else deployment["updated_at"])


def test_gitlab_deployments_pipelines_merge_requests_and_commits(database_url: str, tmp_path: Path) -> None:
    with serve_trackers(TrackerStandIn()) as stand_in:
        settings = settings_for(database_url, tmp_path, stand_in.url)
        summary = run(settings, "gitlab", "acme/ledger", 140)
        drain(settings)
        again = run(settings, "gitlab", "acme/ledger", 141)  # another window over the same: all duplicates
        drain(settings)
        asked = [(path, params) for path, params, _ in stand_in.requests]
        tokens = {headers.get("private-token") for _, _, headers in stand_in.requests}
    data = stand_in.gitlab
    outcome = {"success": "success", "failed": "failure"}
    want = {  # finished when its job did; a deployment made through the API (no job) when it was last updated
        (str(d["id"]), outcome[d["status"]], when(finished(d)), when(d["created_at"])) for d in data.deployments
    }
    want |= {
        (f"pipeline-{p['id']}", "success", when(p["updated_at"]), when(p["created_at"]))
        for p in data.pipelines
        if p["name"] == "deploy"
    }
    got = {(d.external_id, d.status, shown(d.finished_at), shown(d.started_at)) for d in rows(settings, Deployment)}
    assert got == want
    shas = {c["id"] for c in data.commits} | {c["id"] for cs in data.mr_commits.values() for c in cs}
    assert {c.sha for c in rows(settings, Change)} == shas
    assert {(p.number, p.merge_commit_sha) for p in rows(settings, PullRequest)} == {
        (m["iid"], m["merge_commit_sha"]) for m in data.merge_requests
    }
    assert summary.skipped() == {
        "pipeline 'lint' is not mapped to an environment (FRICTIONLOG_WORKFLOW_ENVIRONMENTS)": len(data.deployments)
    }
    assert sum(s.stored for s in again.scopes) == 0
    assert any("page" in params for path, params in asked if path.endswith("/deployments"))  # X-Next-Page followed
    assert any("page" in params for path, params in asked if path.endswith("/merge_requests"))  # offset, as documented
    assert tokens == {"glpat-test"}


def test_gitlab_pipelines_without_a_name_are_skipped_without_asking_for_their_details(
    database_url: str, tmp_path: Path
) -> None:
    """A pipeline listed with ``name: null`` (no ``workflow:name``) is never mapped to an environment: the
    import skips it with the webhook parser's reason and does not ask for its details."""
    stand_in = TrackerStandIn()
    unnamed = [p for p in stand_in.gitlab.pipelines if p["name"] == "lint"]
    for listed in unnamed:
        listed["name"] = None
    with serve_trackers(stand_in):
        settings = settings_for(database_url, tmp_path, stand_in.url)
        summary = run(settings, "gitlab", "acme/ledger", 140)
        drain(settings)
        asked = {path for path, _, _ in stand_in.requests}
    details = {path.rsplit("/", 1)[-1] for path in asked if "/pipelines/" in path}
    assert details == {str(p["id"]) for p in stand_in.gitlab.pipelines if p["name"] == "deploy"}
    assert summary.skipped() == {
        "pipeline None is not mapped to an environment (FRICTIONLOG_WORKFLOW_ENVIRONMENTS)": len(unnamed)
    }
    deployed = {d.external_id for d in rows(settings, Deployment) if d.external_id.startswith("pipeline-")}
    assert deployed == {f"pipeline-{p['id']}" for p in stand_in.gitlab.pipelines if p["name"] == "deploy"}


def test_opsgenie_alerts_in_30_day_queries_paged_by_offset(
    database_url: str, tmp_path: Path, client: TestClient
) -> None:
    stand_in = TrackerStandIn()
    first = stand_in.alerts[0]
    live = {"action": "Create", "alert": {**first, "alertId": first["id"]}, "source": {"name": "Datadog"}}
    headers = {"X-Frictionlog-Token": OPSGENIE_TOKEN}
    assert client.post("/webhooks/opsgenie", json=live, headers=headers).status_code == 202  # the live webhook first
    with serve_trackers(stand_in):
        settings = settings_for(database_url, tmp_path, stand_in.url)
        drain(settings)
        run(settings, "opsgenie", "all", 60)
        drain(settings)
        offsets = [params.get("offset") for path, params, _ in stand_in.requests if path == "/v2/alerts"]
    want = set()
    for alert in stand_in.alerts:
        created = datetime.fromisoformat(alert["createdAt"].replace("Z", "+00:00"))
        report = alert["report"]
        ack = shown(created + timedelta(milliseconds=report["ackTime"])) if "ackTime" in report else None
        closed = shown(created + timedelta(milliseconds=report["closeTime"])) if "closeTime" in report else None
        status = "resolved" if closed else "acknowledged" if ack else "triggered"
        want.add((alert["id"], status, ack, closed))
    got = {(i.external_id, i.status, shown(i.acknowledged_at), shown(i.resolved_at)) for i in rows(settings, Incident)}
    assert got == want
    assert offsets == ["0", "100", "0", "100"]  # two 30-day queries, each of two pages


def test_jira_issues_with_their_whole_changelog(database_url: str, tmp_path: Path) -> None:
    with serve_trackers(TrackerStandIn()) as stand_in:
        settings = settings_for(database_url, tmp_path, stand_in.url)
        run(settings, "jira", "LED", 130)
        drain(settings)
        again = run(settings, "jira", "LED", 131)
        drain(settings)
        searched = [params for path, params, _ in stand_in.requests if path == "/rest/api/3/search/jql"]
        changelog = [path for path, _, _ in stand_in.requests if path.endswith("/changelog")]
    category = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}
    want = set()
    for issue in stand_in.jira:
        histories = issue["changelog"]["histories"][::-1]
        first = histories[0]["items"][0]["fromString"]
        want.add((issue["key"], MAPPING.status(name=first, category=category[first]), when(issue["fields"]["created"])))
        for history in histories:
            to = history["items"][0]["toString"]
            want.add((issue["key"], MAPPING.status(name=to, category=category[to]), when(history["created"])))
    got = {(s.key, s.status, shown(s.changed_at)) for s in rows(settings, WorkItemStatus)}
    assert got == want
    items = {i.key: i.status for i in rows(settings, WorkItem)}
    assert items == {i["key"]: "in_progress" if i is stand_in.jira[-1] else "done" for i in stand_in.jira}
    assert [p.get("nextPageToken") for p in searched[:2]] == [None, "100"]
    assert changelog[:2] == ["/rest/api/3/issue/LED-2/changelog"] * 2  # 8 entries: more than the search gave
    assert sum(s.stored for s in again.scopes) == 0


def test_a_jira_search_that_matches_nothing_is_an_empty_page(sqlite_url: str, tmp_path: Path) -> None:
    """SearchAndReconcileResults has no required property: with nothing updated since, no ``issues``."""
    empty_all_tables(sqlite_url)
    with serve_trackers(TrackerStandIn()) as stand_in:
        settings = settings_for(sqlite_url, tmp_path, stand_in.url)
        until = START + timedelta(days=400)
        summary = sources.run(
            settings, "jira", ["LED"], since=until - timedelta(days=1), until=until, client_options={"sleep": print}
        )
    assert [s.stored for s in summary.scopes] == [0]
    assert len(stand_in.requests) == 1


def test_linear_issues_and_projects_by_graphql_pages(database_url: str, tmp_path: Path) -> None:
    with serve_trackers(TrackerStandIn()) as stand_in:
        settings = settings_for(database_url, tmp_path, stand_in.url)
        run(settings, "linear", "ENG", 70)
        drain(settings)
        keys = [headers.get("authorization") for _, _, headers in stand_in.requests]
    want = set()
    for issue in stand_in.linear:
        history = [move for move in issue["history"]["nodes"][::-1] if move["toState"]]  # edits carry no state
        start = history[0]["fromState"]
        want.add(
            (issue["identifier"], MAPPING.status(name=start["name"], type_=start["type"]), when(issue["createdAt"]))
        )
        for move in history:
            state = move["toState"]
            want.add(
                (issue["identifier"], MAPPING.status(name=state["name"], type_=state["type"]), when(move["createdAt"]))
            )
    got = {(s.key, s.status, shown(s.changed_at)) for s in rows(settings, WorkItemStatus) if s.key.startswith("ENG-")}
    assert got == want
    items = {i.key: i.raw_status for i in rows(settings, WorkItem)}
    assert (
        items["linear-project:5f8c6f3e-7c1a-4d2b-9e77-0a1b2c3d4e5f"] == "In Progress"
    )  # status, not the deprecated state
    assert set(keys) == {"lin_api_test"}
    assert len(stand_in.requests) == 3  # two pages of 50 issues, one of projects


@pytest.mark.parametrize(
    ("source", "target", "trouble", "waits"),
    [
        ("gitlab", "acme/ledger", "429", [2.0]),  # Retry-After 2 s
        ("opsgenie", "all", "429", [1.0]),  # no Retry-After: X-RateLimit-Period-In-Sec 1 (the per-second bucket)
        ("linear", "ENG", "ratelimited", [5.0]),  # the requests budget's reset, 5 s ahead
        ("linear", "ENG", "complexity", [2.0]),  # complexity left < X-Complexity: wait for its reset, not refused
        ("jira", "LED", "500", [0.0]),  # backoff 0 s
    ],
)
def test_a_rate_limit_answer_is_waited_out_and_a_5xx_retried(
    source: str, target: str, trouble: str, waits: list[float], sqlite_url: str, tmp_path: Path
) -> None:
    empty_all_tables(sqlite_url)
    slept: list[float] = []
    now = [time.time()]  # a clock that the waits move on, as real sleeps would

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    with serve_trackers(TrackerStandIn(trouble=lambda _p, n: trouble if n == 2 else None)) as stand_in:
        settings = settings_for(sqlite_url, tmp_path, stand_in.url)
        summary = run(settings, source, target, 30, sleep=sleep, clock=lambda: now[0])
    assert slept == pytest.approx(waits, abs=0.5)
    assert (summary.refused, summary.retried) == {"500": (0, 1), "complexity": (0, 0)}.get(trouble, (1, 0))


def snapshot(settings: Settings) -> dict[str, Any]:
    """Every inbox key and the derived rows an import makes, as comparable values."""
    from service.core.models import InboxEvent

    return {
        "inbox": sorted((e.source, e.delivery_key) for e in rows(settings, InboxEvent)),
        "deployments": sorted((d.external_id, d.status) for d in rows(settings, Deployment)),
        "changes": sorted((c.sha, c.service or "") for c in rows(settings, Change)),
        "incidents": sorted((i.external_id, i.status) for i in rows(settings, Incident)),
        "statuses": sorted((s.key, s.status, shown(s.changed_at)) for s in rows(settings, WorkItemStatus)),
    }


@pytest.mark.parametrize(
    ("source", "target", "days", "fail_from"),
    [
        ("gitlab", "acme/ledger", 140, 150),
        ("opsgenie", "all", 60, 3),
        ("jira", "LED", 130, 4),  # the search, two changelog pages of LED-2, then the second search fails
        ("linear", "ENG", 70, 2),
    ],
)
def test_an_import_stopped_mid_way_resumes_to_the_rows_of_one_clean_run(
    source: str, target: str, days: int, fail_from: int, database_url: str, tmp_path: Path
) -> None:
    """The vendor fails every request from the ``fail_from``-th on: the import stops (ImportFailed) with
    some pages stored; run again, it continues from its checkpoints, and ends with exactly the inbox rows
    and records of one uninterrupted run."""
    from integrations.history.client import ImportFailed

    with serve_trackers(TrackerStandIn()) as stand_in:
        settings = settings_for(database_url, tmp_path, stand_in.url)
        run(settings, source, target, days)
        drain(settings)
        clean = snapshot(settings)
        empty_all_tables(database_url)
        first = len(stand_in.requests)
        stand_in.trouble = lambda _p, n: "500" if n - first >= fail_from else None
        with pytest.raises(ImportFailed):
            run(settings, source, target, days)
        stand_in.trouble = lambda _p, _n: None
        resumed = run(settings, source, target, days)
        drain(settings)
    assert any(s.resumed or s.up_to_date for s in resumed.scopes)
    assert snapshot(settings) == clean


def test_a_gitlab_deployment_seen_by_webhook_then_imported_is_one_row(
    database_url: str, tmp_path: Path, client: TestClient
) -> None:
    from tests.tracker_standins import GL_PROJECT
    from tests.vendors import gl_request

    stand_in = TrackerStandIn()
    deployment = stand_in.gitlab.deployments[0]
    hook = {
        "object_kind": "deployment",
        "status": "success",
        "status_changed_at": deployment["deployable"]["finished_at"].replace("T", " ").replace("Z", " UTC"),
        "deployment_id": deployment["id"],
        "environment": "production",
        "short_sha": deployment["sha"][:8],
        "commit_url": f"{GL_PROJECT['web_url']}/-/commit/{deployment['sha']}",
        "project": GL_PROJECT,
    }
    assert client.post("/webhooks/gitlab", **gl_request("Deployment Hook", hook)).status_code == 202
    with serve_trackers(stand_in):
        settings = settings_for(database_url, tmp_path, stand_in.url)
        drain(settings)
        run(settings, "gitlab", "acme/ledger", 140)
        drain(settings)
    found = [d for d in rows(settings, Deployment) if d.external_id == str(deployment["id"])]
    assert [(d.status, shown(d.finished_at), shown(d.started_at)) for d in found] == [
        ("success", when(deployment["deployable"]["finished_at"]), when(deployment["created_at"]))
    ]
    assert len([d for d in rows(settings, Deployment) if not d.external_id.startswith("pipeline-")]) == len(
        stand_in.gitlab.deployments
    )


def test_a_jira_status_move_seen_by_webhook_then_imported_is_one_history_point(
    database_url: str, tmp_path: Path
) -> None:
    from service.app.web.app import create_app
    from tests.fakes import RecordingWaker
    from tests.work_vendors import JIRA_SECRET, jira_request

    stand_in = TrackerStandIn()
    issue = stand_in.jira[0]
    move = issue["changelog"]["histories"][0]  # its newest: In Progress → Done
    moved_at = datetime.fromisoformat(move["created"].replace("+0000", "+00:00"))
    live = {
        "timestamp": int(moved_at.timestamp() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "issue": {key: value for key, value in issue.items() if key != "changelog"},
        "changelog": {"id": move["id"], "items": move["items"]},
    }
    with serve_trackers(stand_in):
        settings = settings_for(database_url, tmp_path, stand_in.url).model_copy(
            update={"jira_webhook_secret": SecretStr(JIRA_SECRET), "jira_replay_window_seconds": 10 * 365 * 86400.0}
        )  # the move is dated weeks back: a replay window that admits it, as tests/work_vendors.py does
        with TestClient(create_app(settings, waker=RecordingWaker())) as client:
            assert client.post("/webhooks/jira", **jira_request(live)).status_code == 202
        drain(settings)
        run(settings, "jira", "LED", 130)
        drain(settings)
    points = [(s.status, shown(s.changed_at)) for s in rows(settings, WorkItemStatus) if s.key == issue["key"]]
    assert sorted(points) == sorted(
        [
            ("open", when(issue["fields"]["created"])),
            ("in_progress", when(issue["changelog"]["histories"][1]["created"])),
            ("done", when(move["created"])),
        ]
    )


def test_a_linear_state_move_seen_by_webhook_then_imported_is_one_history_point(
    database_url: str, tmp_path: Path
) -> None:
    from service.app.web.app import create_app
    from service.core.timeutil import utcnow
    from tests.fakes import RecordingWaker
    from tests.work_vendors import LINEAR_SECRET, linear_request

    stand_in = TrackerStandIn()
    issue = stand_in.linear[0]
    move = issue["history"]["nodes"][0]  # its newest: In Progress → Done
    data = {
        **{k: v for k, v in issue.items() if k not in ("history", "labels", "project")},
        "labels": issue["labels"]["nodes"],
        "state": move["toState"],
    }
    live = {"action": "update", "type": "Issue", "createdAt": move["createdAt"], "data": data, "url": issue["url"]}
    with serve_trackers(stand_in):
        settings = settings_for(database_url, tmp_path, stand_in.url).model_copy(
            update={"linear_webhook_secret": SecretStr(LINEAR_SECRET)}
        )
        with TestClient(create_app(settings, waker=RecordingWaker())) as client:
            assert client.post("/webhooks/linear", **linear_request(live, sent=utcnow())).status_code == 202
        drain(settings)
        run(settings, "linear", "ENG", 70)
        drain(settings)
    points = sorted((s.status, shown(s.changed_at)) for s in rows(settings, WorkItemStatus) if s.key == "ENG-1")
    created, started = when(issue["createdAt"]), when(issue["history"]["nodes"][1]["createdAt"])
    assert points == sorted([("open", created), ("in_progress", started), ("done", when(move["createdAt"]))])
