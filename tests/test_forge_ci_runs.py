"""One rule for a forge's CI run as a deployment (integrations/forge.py): a GitHub workflow run and a GitLab
pipeline that say the same thing get the same answer — ignored for the same reason, or the same deployment."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from integrations import github, gitlab
from integrations.config import IntegrationConfig
from service.core.records import DeploymentRecord, Ignored, InboxMeta, ParseResult
from tests.factories import T0, iso, sha
from tests.vendors import GL_PROJECT, REPO

CONFIG = IntegrationConfig(workflow_environments={"Deploy": "production"})
FINISHED = T0 + timedelta(minutes=9)


def _gitlab_time(at: datetime) -> str:
    """GitLab's own time format in its hooks."""
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def workflow_run(name: str | None, branch: str, outcome: str | None) -> ParseResult:
    """A GitHub ``workflow_run`` delivery: completed with ``outcome`` as its conclusion, or still running."""
    run = {
        "id": 77,
        "name": name,
        "head_branch": branch,
        "head_sha": sha(3).upper(),
        "status": "completed" if outcome else "in_progress",
        "conclusion": outcome,
        "run_started_at": iso(T0),
        "updated_at": iso(FINISHED),
        "html_url": "https://github.com/acme/checkout-api/actions/runs/77",
    }
    body = {"action": "completed" if outcome else "in_progress", "workflow_run": run, "repository": REPO}
    return github.parse(_meta("workflow_run"), body, CONFIG)


def pipeline(name: str | None, branch: str, outcome: str | None, config: IntegrationConfig = CONFIG) -> ParseResult:
    """A GitLab ``Pipeline Hook``: finished with ``outcome`` as its status, or still running."""
    attributes = {
        "id": 77,
        "name": name,
        "ref": branch,
        "sha": sha(3).upper(),
        "status": outcome or "running",
        "created_at": _gitlab_time(T0),
        "finished_at": _gitlab_time(FINISHED) if outcome else None,
        "url": "https://gitlab.com/acme/checkout-api/-/pipelines/77",
    }
    body = {"object_kind": "pipeline", "object_attributes": attributes, "project": GL_PROJECT}
    return gitlab.parse(_meta("Pipeline Hook"), body, config)


def _meta(event_type: str) -> InboxMeta:
    return InboxMeta(id=1, event_type=event_type, delivery_key="k", received_at=T0)


@pytest.mark.parametrize(
    ("name", "finished", "why"),
    [
        ("Lint", True, "'Lint' is not mapped to an environment (FRICTIONLOG_WORKFLOW_ENVIRONMENTS)"),
        (None, True, "None is not mapped to an environment (FRICTIONLOG_WORKFLOW_ENVIRONMENTS)"),
        ("Lint", False, "'Lint' is not mapped to an environment (FRICTIONLOG_WORKFLOW_ENVIRONMENTS)"),
    ],
)
def test_a_run_whose_name_is_not_mapped_is_ignored_by_both_forges_in_the_same_words(
    name: str | None, finished: bool, why: str
) -> None:
    assert workflow_run(name, "main", "success" if finished else None) == Ignored(f"workflow run {why}")
    assert pipeline(name, "main", "success" if finished else None) == Ignored(f"pipeline {why}")


def test_a_mapped_run_off_the_default_branch_is_not_a_deployment_on_either_forge() -> None:
    assert workflow_run("Deploy", "feature/x", "success") == Ignored(
        "workflow run on 'feature/x', not the default branch"
    )
    assert pipeline("Deploy", "feature/x", "success") == Ignored("pipeline on 'feature/x', not the default branch")


def test_a_mapped_run_still_running_is_not_a_deployment_yet_on_either_forge() -> None:
    assert workflow_run("Deploy", "main", None) == Ignored("workflow run in_progress, not completed")
    assert pipeline("Deploy", "main", None) == Ignored("pipeline running, not finished")


@pytest.mark.parametrize("name", [None, ""])
def test_a_pipeline_without_a_name_is_never_mapped_even_by_an_empty_key(name: str | None) -> None:
    config = IntegrationConfig(workflow_environments={"": "production"})
    assert pipeline(name, "main", "success", config) == Ignored(
        f"pipeline {name!r} is not mapped to an environment (FRICTIONLOG_WORKFLOW_ENVIRONMENTS)"
    )


@pytest.mark.parametrize(
    ("github_outcome", "gitlab_outcome", "status"),
    [
        ("success", "success", "success"),
        ("failure", "failed", "failure"),
        ("cancelled", "canceled", "cancelled"),
    ],
)
def test_a_finished_mapped_run_on_the_default_branch_is_the_same_deployment_from_either_forge(
    github_outcome: str, gitlab_outcome: str, status: str
) -> None:
    from_github, from_gitlab = (
        workflow_run("Deploy", "main", github_outcome),
        pipeline("Deploy", "main", gitlab_outcome),
    )
    assert isinstance(from_github, list)
    assert isinstance(from_gitlab, list)
    [deployed_github], [deployed_gitlab] = from_github, from_gitlab
    assert isinstance(deployed_github, DeploymentRecord)
    assert isinstance(deployed_gitlab, DeploymentRecord)
    for deployed in (deployed_github, deployed_gitlab):
        assert (deployed.environment, deployed.status, deployed.sha) == ("production", status, sha(3))
        assert (deployed.started_at, deployed.finished_at) == (T0, FINISHED)
    assert (deployed_github.source, deployed_github.external_id) == ("github", "run-77")
    assert (deployed_gitlab.source, deployed_gitlab.external_id) == ("gitlab", "pipeline-77")
    assert (deployed_github.repository, deployed_github.service) == (REPO["full_name"], REPO["name"])
    assert (deployed_gitlab.repository, deployed_gitlab.service) == (GL_PROJECT["path_with_namespace"], "ledger")
    assert deployed_github.url == "https://github.com/acme/checkout-api/actions/runs/77"
    assert deployed_gitlab.url == "https://gitlab.com/acme/checkout-api/-/pipelines/77"
