"""GitHub webhooks through the HTTP route and the drain loop: signatures, events, lead time from pushes."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session, select

from integrations.signatures import verify_github
from service.core.errors import Unauthenticated
from service.core.models import Change, Deployment, DeploymentChange, InboxEvent, Incident, Service
from service.core.settings import Settings
from tests.factories import T0, sha
from tests.vendors import (
    REPO,
    gh_commit,
    gh_deployment,
    gh_deployment_status,
    gh_pull_request_merged,
    gh_push,
    github_request,
)
from workers.process import drain

URL = "/webhooks/github"


def post(client: TestClient, event: str, payload: Any, **kwargs: Any) -> Any:
    return client.post(URL, **github_request(event, payload, **kwargs))


def links(session: Session) -> dict[str, list[tuple[str, str | None]]]:
    """deployment external id → [(commit sha, excluded reason)]"""
    rows = session.exec(
        select(Deployment.external_id, Change.sha, DeploymentChange.excluded)
        .join(DeploymentChange, DeploymentChange.deployment_id == Deployment.id)  # type: ignore[arg-type]
        .join(Change, Change.id == DeploymentChange.change_id)  # type: ignore[arg-type]
    ).all()
    result: dict[str, list[tuple[str, str | None]]] = {}
    for deployment, commit, excluded in rows:
        result.setdefault(deployment, []).append((commit, excluded))
    return {key: sorted(value) for key, value in result.items()}


def test_githubs_published_test_vector_verifies() -> None:
    secret = SecretStr("It's a Secret to Everybody")
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

    verify_github({"x-hub-signature-256": signature}, b"Hello, World!", secret)
    with pytest.raises(Unauthenticated):
        verify_github({"x-hub-signature-256": signature}, b"Hello, World?", secret)


def test_ping_is_accepted_and_recorded_as_ignored(client: TestClient, settings: Settings, session: Session) -> None:
    response = post(client, "ping", {"zen": "Design for failure.", "hook_id": 1, "repository": REPO})
    drain(settings)

    assert response.status_code == 202
    assert response.json()["ignored"] == "ping"
    row = session.get(InboxEvent, response.json()["id"])
    assert row is not None
    assert (row.status, row.error) == ("ignored", "ping")


def test_an_event_type_we_do_not_use_is_202_and_ignored(client: TestClient) -> None:
    response = post(client, "star", {"action": "created", "repository": REPO})

    assert response.status_code == 202
    assert "not used" in response.json()["ignored"]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-Hub-Signature-256": None},
        {"X-Hub-Signature-256": "sha256=signed-with-pagerdutys-secret"},
    ],
)
def test_a_bad_or_missing_signature_is_401_and_stores_nothing(
    client: TestClient, session: Session, headers: dict[str, str | None]
) -> None:
    request = github_request("ping", {"zen": "x"})
    for name, value in headers.items():
        if value is None:
            del request["headers"][name]
        else:
            request["headers"][name] = value

    response = client.post(URL, **request)

    assert response.status_code == 401
    assert response.json()["error"]["field"] == "x-hub-signature-256"
    assert session.exec(select(InboxEvent)).all() == []


def test_a_signature_made_with_another_sources_secret_is_refused(client: TestClient) -> None:
    response = client.post(URL, **github_request("ping", {"zen": "x"}, secret="pd-test-secret"))

    assert response.status_code == 401


def test_the_signature_is_checked_before_the_body_is_parsed(client: TestClient) -> None:
    request = github_request("push", {})
    request["content"] = b"{not json"

    assert client.post(URL, **request).status_code == 401


def test_malformed_json_with_a_valid_signature_is_400(client: TestClient) -> None:
    import hashlib
    import hmac

    from tests.vendors import GITHUB_SECRET

    body = b"{not json"
    request = github_request("push", {})
    request["content"] = body
    request["headers"]["X-Hub-Signature-256"] = (
        "sha256=" + hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    )

    response = client.post(URL, **request)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_legacy_sha1_signatures_only_when_allowed(database_url: str, tmp_path: Any) -> None:
    import hashlib
    import hmac

    from service.app.api.app import create_app
    from tests.fakes import RecordingWaker
    from tests.helpers import make_settings
    from tests.vendors import GITHUB_SECRET

    request = github_request("ping", {"zen": "x"})
    del request["headers"]["X-Hub-Signature-256"]
    request["headers"]["X-Hub-Signature"] = (
        "sha1=" + hmac.new(GITHUB_SECRET.encode(), request["content"], hashlib.sha1).hexdigest()
    )
    codes = []
    for allow in (False, True):
        settings = make_settings(database_url, tmp_path, github_allow_sha1_signature=allow)
        with TestClient(create_app(settings, waker=RecordingWaker())) as client:
            codes.append(client.post(URL, **request).status_code)

    assert codes == [401, 202]


def test_an_unconfigured_secret_refuses_everything(database_url: str, tmp_path: Any) -> None:
    from service.app.api.app import create_app
    from tests.fakes import RecordingWaker
    from tests.helpers import make_settings

    settings = make_settings(database_url, tmp_path, github_webhook_secret=None)
    with TestClient(create_app(settings, waker=RecordingWaker())) as client:
        response = client.post(URL, **github_request("ping", {"zen": "x"}))

    assert response.status_code == 401
    assert "not configured" in response.json()["error"]["message"]


def test_a_resent_delivery_is_a_duplicate(client: TestClient, session: Session) -> None:
    first = post(client, "ping", {"zen": "x"}, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    again = post(client, "ping", {"zen": "x"}, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert len(session.exec(select(InboxEvent)).all()) == 1


def test_a_missing_field_is_422_naming_it(client: TestClient) -> None:
    payload = gh_deployment_status(7, sha(1), "success", T0)
    del payload["deployment"]["sha"]

    response = post(client, "deployment_status", payload)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "deployment.sha"


def test_a_deployment_counts_when_its_status_becomes_success(
    client: TestClient, settings: Settings, session: Session
) -> None:
    created = T0 - timedelta(minutes=10)
    post(
        client, "deployment", {"action": "created", "deployment": gh_deployment(7, sha(1), created), "repository": REPO}
    )
    post(
        client,
        "deployment_status",
        gh_deployment_status(7, sha(1), "in_progress", T0 - timedelta(minutes=5), created=created),
    )
    post(client, "deployment_status", gh_deployment_status(7, sha(1), "success", T0, created=created))
    later = post(
        client,
        "deployment_status",
        gh_deployment_status(7, sha(1), "inactive", T0 + timedelta(days=1), created=created),
    )
    drain(settings)

    deployment = session.exec(select(Deployment)).one()
    assert (deployment.external_id, deployment.status, deployment.service) == ("7", "success", "checkout-api")
    assert (deployment.started_at, deployment.finished_at) == (created, T0)
    assert deployment.repository == "acme/checkout-api"
    assert "does not change the outcome" in later.json()["ignored"]


def test_failure_and_error_statuses_are_failed_deployments(
    client: TestClient, settings: Settings, session: Session
) -> None:
    post(client, "deployment_status", gh_deployment_status(8, sha(1), "failure", T0))
    post(client, "deployment_status", gh_deployment_status(9, sha(2), "error", T0))
    drain(settings)

    assert sorted(session.exec(select(Deployment.status)).all()) == ["error", "failure"]


def test_pushes_become_changes_and_tags_and_deletions_are_ignored(
    client: TestClient, settings: Settings, session: Session
) -> None:
    pushed = post(
        client, "push", gh_push("main", [gh_commit(sha(1), T0), gh_commit(sha(2), T0 + timedelta(minutes=5))])
    )
    tag = post(client, "push", {**gh_push("main", []), "ref": "refs/tags/v1.2.0"})
    deleted = post(client, "push", {**gh_push("old-branch", []), "deleted": True})
    drain(settings)

    assert pushed.json()["ignored"] is None
    assert tag.json()["ignored"] == "tag push"
    assert "deletion" in deleted.json()["ignored"]
    changes = session.exec(select(Change).order_by(Change.push_order)).all()  # type: ignore[arg-type]
    assert [(c.sha, c.branch, c.on_default_branch, c.author) for c in changes] == [
        (sha(1), "main", True, "octocat"),
        (sha(2), "main", True, "octocat"),
    ]


def test_lead_time_links_pushed_commits_excluding_the_first_deployment_and_bots(
    client: TestClient, settings: Settings, session: Session
) -> None:
    post(client, "push", gh_push("main", [gh_commit(sha(1), T0 - timedelta(days=90)), gh_commit(sha(2), T0)]))
    post(client, "deployment_status", gh_deployment_status(1, sha(2), "success", T0 + timedelta(hours=1)))
    post(
        client,
        "push",
        gh_push(
            "main",
            [
                gh_commit(sha(3), T0 + timedelta(hours=2), author="dependabot[bot]"),
                gh_commit(sha(4), T0 + timedelta(hours=3)),
            ],
        ),
    )
    post(client, "push", gh_push("main", [gh_commit(sha(5), T0 + timedelta(hours=9))]))  # not deployed yet
    post(client, "deployment_status", gh_deployment_status(2, sha(4), "success", T0 + timedelta(hours=5)))
    drain(settings)

    assert links(session) == {
        "1": [(sha(1), "first_deployment"), (sha(2), "first_deployment")],
        "2": [(sha(3), "bot"), (sha(4), None)],
    }


def test_a_replayed_deployment_status_does_not_relink(client: TestClient, settings: Settings, session: Session) -> None:
    post(client, "push", gh_push("main", [gh_commit(sha(1), T0)]))
    post(client, "deployment_status", gh_deployment_status(1, sha(1), "success", T0 + timedelta(hours=1)))
    drain(settings)
    post(
        client,
        "deployment_status",
        gh_deployment_status(1, sha(1), "success", T0 + timedelta(hours=1)),
        delivery="other",
    )
    drain(settings)

    assert links(session) == {"1": [(sha(1), "first_deployment")]}


def test_squash_merges_take_lead_time_from_the_pull_requests_own_commits(
    client: TestClient, settings: Settings, session: Session
) -> None:
    post(client, "push", gh_push("main", [gh_commit(sha(1), T0 - timedelta(days=3))]))
    post(client, "deployment_status", gh_deployment_status(1, sha(1), "success", T0 - timedelta(days=2)))
    branch = [gh_commit(sha(10), T0 - timedelta(hours=30)), gh_commit(sha(11), T0 - timedelta(hours=20))]
    post(client, "push", gh_push("fix-cold-start", branch))
    post(client, "pull_request", gh_pull_request_merged(42, "fix-cold-start", sha(99), T0 - timedelta(hours=2)))
    post(client, "push", gh_push("main", [gh_commit(sha(99), T0 - timedelta(hours=2))]))
    post(client, "deployment_status", gh_deployment_status(2, sha(99), "success", T0))
    drain(settings)

    assert links(session)["2"] == [(sha(10), None), (sha(11), None), (sha(99), "merge_commit")]
    pr_commits = session.exec(select(Change).where(Change.branch == "fix-cold-start")).all()
    assert {(c.pr_number, c.merged_into) for c in pr_commits} == {(42, sha(99))}


def test_a_merge_event_after_the_deployment_still_attaches_the_branch_commits(
    client: TestClient, settings: Settings, session: Session
) -> None:
    post(client, "push", gh_push("main", [gh_commit(sha(1), T0 - timedelta(days=3))]))
    post(client, "deployment_status", gh_deployment_status(1, sha(1), "success", T0 - timedelta(days=2)))
    post(client, "push", gh_push("feature", [gh_commit(sha(10), T0 - timedelta(hours=30))]))
    post(client, "push", gh_push("main", [gh_commit(sha(99), T0 - timedelta(hours=2))]))
    post(client, "deployment_status", gh_deployment_status(2, sha(99), "success", T0))
    drain(settings)
    post(client, "pull_request", gh_pull_request_merged(7, "feature", sha(99), T0 - timedelta(hours=2)))
    drain(settings)

    assert links(session)["2"] == [(sha(10), None), (sha(99), "merge_commit")]


def test_a_monorepo_push_splits_commits_by_path(
    database_url: str, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from service.app.api.app import create_app
    from service.core.db import get_engine
    from tests.fakes import RecordingWaker
    from tests.helpers import make_settings

    caplog.set_level(logging.WARNING, logger="frictionlog.ingest")
    mono = {**REPO, "name": "mono", "full_name": "acme/mono"}
    settings = make_settings(
        database_url,
        tmp_path,
        monorepo_paths={"acme/mono:services/ml-api/": "ml-api", "acme/mono:services/auth/": "auth"},
    )
    commits = [
        gh_commit(sha(1), T0, files=["services/ml-api/app.py"]),
        gh_commit(sha(2), T0, files=["services/auth/app.py", "services/ml-api/shared.py"]),
        gh_commit(sha(3), T0, files=["README.md"]),
    ]
    with TestClient(create_app(settings, waker=RecordingWaker())) as client:
        assert client.post(URL, **github_request("push", gh_push("main", commits, repo=mono))).status_code == 202
    drain(settings)

    with Session(get_engine(database_url)) as session:
        pairs = sorted(session.exec(select(Change.sha, Change.service)).all())
        services = set(session.exec(select(Service.slug)).all())
    assert pairs == [(sha(1), "ml-api"), (sha(2), "auth"), (sha(2), "ml-api")]
    # The README commit is under no mapped prefix: counted as unmapped, no service named after the repository.
    assert services == {"ml-api", "auth"}
    assert "ingest.unmapped_commits repository=acme/mono count=1" in caplog.text


def test_mapped_workflow_runs_on_the_default_branch_are_deployments(database_url: str, tmp_path: Any) -> None:
    from service.app.api.app import create_app
    from service.core.db import get_engine
    from tests.fakes import RecordingWaker
    from tests.helpers import make_settings

    settings = make_settings(database_url, tmp_path, workflow_environments={"Deploy to prod": "production"})

    def run(run_id: int, name: str, branch: str, conclusion: str) -> dict[str, Any]:
        return {
            "action": "completed",
            "workflow_run": {
                "id": run_id,
                "name": name,
                "head_branch": branch,
                "head_sha": sha(run_id),
                "status": "completed",
                "conclusion": conclusion,
                "run_started_at": "2026-10-05T11:50:00Z",
                "updated_at": "2026-10-05T12:00:00Z",
                "html_url": f"https://github.com/acme/checkout-api/actions/runs/{run_id}",
            },
            "repository": REPO,
        }

    with TestClient(create_app(settings, waker=RecordingWaker())) as client:
        answers = [
            client.post(URL, **github_request("workflow_run", run(1, "Deploy to prod", "main", "success"))).json(),
            client.post(URL, **github_request("workflow_run", run(2, "Deploy to prod", "main", "timed_out"))).json(),
            client.post(URL, **github_request("workflow_run", run(3, "Lint", "main", "success"))).json(),
            client.post(URL, **github_request("workflow_run", run(4, "Deploy to prod", "feature", "success"))).json(),
        ]
    drain(settings)

    assert [a["ignored"] is None for a in answers] == [True, True, False, False]
    with Session(get_engine(database_url)) as session:
        rows = sorted(session.exec(select(Deployment.external_id, Deployment.status, Deployment.environment)).all())
    assert rows == [("run-1", "success", "production"), ("run-2", "failure", "production")]


def test_issues_with_the_incident_label_are_incidents(client: TestClient, settings: Settings, session: Session) -> None:
    def issue(action: str, labels: list[str], closed: str | None = None) -> dict[str, Any]:
        return {
            "action": action,
            "issue": {
                "number": 12,
                "title": "Checkout returns 500s",
                "state": "closed" if closed else "open",
                "labels": [{"id": i, "name": name, "color": "d73a4a"} for i, name in enumerate(labels)],
                "created_at": "2026-10-05T12:00:00Z",
                "closed_at": closed,
                "html_url": "https://github.com/acme/checkout-api/issues/12",
            },
            "repository": REPO,
        }

    opened = post(client, "issues", issue("opened", ["Incident", "service:payments-worker"]))
    closed = post(client, "issues", issue("closed", ["Incident", "service:payments-worker"], "2026-10-05T13:30:00Z"))
    plain = post(client, "issues", issue("opened", ["bug"]))
    drain(settings)

    assert (opened.json()["ignored"], closed.json()["ignored"], plain.json()["ignored"]) == (None, None, None)
    incident = session.exec(select(Incident)).one()  # the plain issue is a work item instead (tests/test_work_items.py)
    assert (incident.external_id, incident.service, incident.status) == (
        "acme/checkout-api#12",
        "payments-worker",
        "resolved",
    )
    assert incident.resolved_at is not None
    assert incident.resolved_at - incident.started_at == timedelta(minutes=90)


def test_rebase_merges_count_the_branch_commits_not_their_rebased_copies(
    client: TestClient, settings: Settings, session: Session
) -> None:
    post(client, "push", gh_push("main", [gh_commit(sha(1), T0 - timedelta(days=3))]))
    post(client, "deployment_status", gh_deployment_status(1, sha(1), "success", T0 - timedelta(days=2)))
    post(
        client,
        "push",
        gh_push(
            "tune-gc", [gh_commit(sha(10), T0 - timedelta(hours=30)), gh_commit(sha(11), T0 - timedelta(hours=20))]
        ),
    )
    post(client, "pull_request", gh_pull_request_merged(43, "tune-gc", sha(21), T0 - timedelta(hours=2)))
    rebased = [gh_commit(sha(20), T0 - timedelta(hours=2)), gh_commit(sha(21), T0 - timedelta(hours=2))]
    post(client, "push", gh_push("main", rebased))
    post(client, "push", gh_push("main", [gh_commit(sha(30), T0 - timedelta(hours=1))]))
    post(client, "deployment_status", gh_deployment_status(2, sha(30), "success", T0))
    drain(settings)

    assert links(session)["2"] == [
        (sha(10), None),
        (sha(11), None),
        (sha(20), "merge_commit"),
        (sha(21), "merge_commit"),
        (sha(30), None),
    ]
