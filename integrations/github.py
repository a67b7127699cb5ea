"""GitHub webhooks: deployments and their statuses, mapped workflow runs, pushes, merged pull requests,
issues carrying the incident label (incidents), other issues (work items) and their project (v2) Status
changes. Signed with ``X-Hub-Signature-256``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations import forge
from integrations.config import IntegrationConfig
from integrations.payload import (
    Check,
    Handler,
    Payload,
    PushCommit,
    VendorTime,
    dispatch,
    header_event_type,
    validated,
)
from integrations.signatures import verify_github
from integrations.work_common import incident_category, item_service
from service.core.records import (
    DeploymentRecord,
    Ignored,
    InboxMeta,
    IncidentRecord,
    ParseResult,
    WorkItemRecord,
    WorkItemReferenceRecord,
    WorkItemStatusRecord,
)
from service.core.settings import Settings
from service.figures.work.keys import github_issue_key

SOURCE = "github"
EVENT_HEADER = "x-github-event"
DELIVERY_HEADER = "x-github-delivery"
event_type = header_event_type(EVENT_HEADER)
"""The webhook's event type: its header."""


def verify(headers: Mapping[str, str], body: bytes, settings: Settings) -> None:
    verify_github(headers, body, settings.github_webhook_secret, allow_sha1=settings.github_allow_sha1_signature)


class Repository(Payload):
    full_name: str
    name: str
    default_branch: str = "main"


class _Deployment(Payload):
    id: int
    sha: str
    environment: str
    created_at: VendorTime
    payload: dict[str, Any] | str | None = None
    url: str | None = None


class _DeploymentStatus(Payload):
    state: str
    created_at: VendorTime
    environment: str | None = None
    log_url: str | None = None
    target_url: str | None = None


class DeploymentEvent(Payload):
    deployment: _Deployment
    repository: Repository


class DeploymentStatusEvent(DeploymentEvent):
    deployment_status: _DeploymentStatus


class PushEvent(Payload):
    ref: str
    deleted: bool = False
    commits: list[PushCommit] = []
    repository: Repository


class _Branch(Payload):
    ref: str


class _PullRequest(Payload):
    number: int
    title: str = ""
    body: str | None = None
    merged: bool | None = None
    merged_at: VendorTime | None = None
    merge_commit_sha: str | None = None
    created_at: VendorTime | None = None
    head: _Branch


class PullRequestEvent(Payload):
    action: str
    pull_request: _PullRequest
    repository: Repository


class _WorkflowRun(Payload):
    """GitHub's schema types ``name``, ``head_branch``, ``status`` and ``conclusion`` as string or null."""

    id: int
    name: str | None = None
    head_branch: str | None = None
    head_sha: str
    status: str | None = None
    conclusion: str | None = None
    run_started_at: VendorTime | None = None
    updated_at: VendorTime
    html_url: str | None = None


class WorkflowRunEvent(Payload):
    action: str
    workflow_run: _WorkflowRun
    repository: Repository


class _Label(Payload):
    name: str


class _IssueType(Payload):
    name: str


class _Issue(Payload):
    number: int
    node_id: str | None = None
    title: str = ""
    labels: list[_Label] = []
    state: str = "open"
    state_reason: str | None = None
    type: _IssueType | None = None
    created_at: VendorTime
    updated_at: VendorTime | None = None
    closed_at: VendorTime | None = None
    html_url: str | None = None


class IssuesEvent(Payload):
    action: str
    issue: _Issue
    repository: Repository


_STATUS = {"success": "success", "failure": "failure", "error": "error"}
_PENDING = {"pending", "queued", "in_progress", "waiting"}
_RUN_CONCLUSION = {
    "success": "success",
    "failure": "failure",
    "timed_out": "failure",
    "startup_failure": "failure",
    "cancelled": "cancelled",
}


def _service(config: IntegrationConfig, repository: Repository, payload: dict[str, Any] | str | None = None) -> str:
    if isinstance(payload, dict) and isinstance(payload.get("service"), str) and payload["service"]:
        return config.service_for(payload["service"], fallback=payload["service"])
    return config.service_for(repository.full_name, fallback=repository.name)


def _deployment(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    event = validated(DeploymentEvent, value)
    d = event.deployment
    return [
        DeploymentRecord(
            source=SOURCE,
            external_id=str(d.id),
            service=_service(config, event.repository, d.payload),
            environment=d.environment,
            status="in_progress",
            finished_at=None,
            started_at=d.created_at,
            sha=d.sha,
            repository=event.repository.full_name,
        )
    ]


def _check_deployment(value: Any, _config: IntegrationConfig) -> Ignored | None:
    validated(DeploymentEvent, value)
    return None


def _status_ignored(event: DeploymentStatusEvent) -> Ignored | None:
    state = event.deployment_status.state.lower()
    if state not in _STATUS and state not in _PENDING:
        return Ignored(f"deployment status {state!r} does not change the outcome")
    return None


def _check_deployment_status(value: Any, _config: IntegrationConfig) -> Ignored | None:
    return _status_ignored(validated(DeploymentStatusEvent, value))


def _deployment_status(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    event = validated(DeploymentStatusEvent, value)
    if (ignored := _status_ignored(event)) is not None:
        return ignored
    d, status = event.deployment, event.deployment_status
    state = status.state.lower()
    terminal = state in _STATUS
    return [
        DeploymentRecord(
            source=SOURCE,
            external_id=str(d.id),
            service=_service(config, event.repository, d.payload),
            environment=status.environment or d.environment,
            status=_STATUS.get(state, "in_progress"),
            finished_at=status.created_at if terminal else None,
            started_at=d.created_at,
            sha=d.sha,
            repository=event.repository.full_name,
            url=status.log_url or status.target_url or None,
        )
    ]


def _forge_repository(config: IntegrationConfig, repository: Repository) -> forge.ForgeRepository:
    return forge.ForgeRepository(repository.full_name, repository.default_branch, _service(config, repository))


def _run_outcome(event: WorkflowRunEvent) -> str | Ignored:
    run = event.workflow_run
    if event.action != "completed" or run.status != "completed":
        return Ignored(f"workflow run {event.action}, not completed")
    outcome = _RUN_CONCLUSION.get(run.conclusion or "")
    return Ignored(f"workflow run concluded {run.conclusion!r}") if outcome is None else outcome


def _workflow_run(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    event = validated(WorkflowRunEvent, value)
    run = event.workflow_run
    ci_run = forge.CIRun(
        kind="workflow run",
        name=run.name,
        external_id=f"run-{run.id}",
        branch=run.head_branch,
        sha=run.head_sha,
        outcome=_run_outcome(event),
        started_at=run.run_started_at,
        finished_at=run.updated_at,
        url=run.html_url,
    )
    return forge.ci_deployment(config, SOURCE, _forge_repository(config, event.repository), ci_run)


def _push_ignored(event: PushEvent) -> Ignored | None:
    if event.ref.startswith("refs/tags/"):
        return Ignored("tag push")
    if event.deleted or not event.commits:
        return Ignored("branch deletion or a push without commits")
    return None


def _check_push(value: Any, _config: IntegrationConfig) -> Ignored | None:
    return _push_ignored(validated(PushEvent, value))


def _push(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    event = validated(PushEvent, value)
    if (ignored := _push_ignored(event)) is not None:
        return ignored
    commits = forge.pushed_commits(event.commits, lambda c: c.author.username or c.author.name)
    return forge.pushed_changes(meta, config, _forge_repository(config, event.repository), event.ref, commits)


def _pull_request(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    event = validated(PullRequestEvent, value)
    pr = event.pull_request
    if event.action != "closed" or not pr.merged:
        return Ignored(f"pull request {event.action}, not merged")
    if pr.merged_at is None or not pr.merge_commit_sha:
        return Ignored("merged pull request without merge time or merge commit")
    texts = [pr.title, pr.body]
    return forge.merged_request(
        event.repository.full_name, pr.number, pr.head.ref, pr.merge_commit_sha, pr.merged_at, pr.created_at, texts
    )


_ISSUE_ACTIONS = ("opened", "edited", "labeled", "unlabeled", "closed", "reopened", "assigned", "transferred")


def _work_item(event: IssuesEvent, labels: list[str], config: IntegrationConfig) -> ParseResult:
    """An issue without the incident label is a work item: ``<owner>/<repo>#<number>``."""
    issue, repository = event.issue, event.repository.full_name
    if event.action not in _ISSUE_ACTIONS:
        return Ignored(f"issue {event.action}")
    mapping = config.work_mapping
    if issue.state == "closed":
        status = "cancelled" if issue.state_reason == "not_planned" else "done"
        raw = f"closed:{issue.state_reason or 'completed'}"
    else:  # a label may carry the status (``in progress``), else the issue is open
        labelled = [(label, mapping.status(name=label)) for label in labels]
        raw, status = next(((label, found) for label, found in labelled if found), ("open", "open"))
    kind = mapping.kind(issue_type=issue.type.name if issue.type else None, labels=labels, project=repository)
    named = mapping.service(labels=labels, repository=repository)
    changed_at = (issue.closed_at if event.action == "closed" else None) or issue.updated_at or issue.created_at
    key = github_issue_key(repository, issue.number)
    return [
        WorkItemRecord(
            source=SOURCE,
            key=key,
            kind=kind,
            status=status,
            raw_status=raw[:128],
            changed_at=changed_at,
            title=issue.title[:1000] or None,
            service=item_service(config, named) or _service(config, event.repository),
            labels=tuple(labels),
            created_at=issue.created_at,
            url=issue.html_url,
        ),
        *(
            [WorkItemReferenceRecord(key=key, kind="node", repository=SOURCE, ref=issue.node_id)]
            if issue.node_id
            else []
        ),
    ]


class _Option(Payload):
    name: str


class _FieldValue(Payload):
    field_name: str | None = None
    to: _Option | None = None


class _ItemChanges(Payload):
    field_value: _FieldValue | None = None


class _ProjectItem(Payload):
    content_node_id: str
    content_type: str
    updated_at: VendorTime


class ProjectsV2ItemEvent(Payload):
    action: str
    projects_v2_item: _ProjectItem
    changes: _ItemChanges | None = None


def _projects_v2_item(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    """A project (v2) Status change of an issue: a status history point of that issue, named by node id."""
    event = validated(ProjectsV2ItemEvent, value)
    item, changed = event.projects_v2_item, event.changes.field_value if event.changes else None
    if event.action != "edited" or item.content_type != "Issue" or changed is None or changed.to is None:
        return Ignored("project item event that does not change an issue's field")
    if (changed.field_name or "").strip().lower() != "status":
        return Ignored(f"project field {changed.field_name!r} is not the status")
    name = changed.to.name
    status = config.work_mapping.status(name=name, category=name, type_=name)
    if status is None:
        return Ignored(f"project status {name!r} is not mapped (service/figures/work/mapping.yaml statuses)")
    return [
        WorkItemStatusRecord(
            source=SOURCE,
            key=f"node:{item.content_node_id}",
            status=status,
            changed_at=item.updated_at,
            raw_status=name[:128],
        )
    ]


def _issues(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    event = validated(IssuesEvent, value)
    issue = event.issue
    labels = [label.name for label in issue.labels]
    if config.incident_label.lower() not in {label.lower() for label in labels}:
        return _work_item(event, labels, config)
    named = [label.split(":", 1)[1].strip() for label in labels if label.lower().startswith("service:")]
    service = config.service_for(named[0], fallback=named[0]) if named else _service(config, event.repository)
    if event.action in ("opened", "labeled", "reopened"):
        status, resolved_at = "triggered", None
    elif event.action == "closed":
        status, resolved_at = "resolved", issue.closed_at
    else:
        return Ignored(f"issue {event.action}")
    return [
        IncidentRecord(
            source=SOURCE,
            external_id=f"{event.repository.full_name}#{issue.number}",
            service=service,
            status=status,
            started_at=issue.created_at,
            resolved_at=resolved_at,
            title=issue.title[:1000] or None,
            url=issue.html_url,
            **incident_category(config, teams=labels, title=issue.title, service=service),
        )
    ]


HANDLERS: dict[str, Handler] = {
    "deployment": _deployment,
    "deployment_status": _deployment_status,
    "workflow_run": _workflow_run,
    "push": _push,
    "pull_request": _pull_request,
    "issues": _issues,
    "projects_v2_item": _projects_v2_item,
}


CHECKS: dict[str, Check] = {
    "deployment": _check_deployment,
    "deployment_status": _check_deployment_status,
    "push": _check_push,
}
"""The edge's checks of the busiest events, in place of their handlers (``payload.Check``); the others
are checked by their handler."""


def delivery_key(headers: Mapping[str, str]) -> str | None:
    return headers.get(DELIVERY_HEADER)


def parse(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    if meta.event_type == "ping":
        return Ignored("ping")
    return dispatch(HANDLERS, "GitHub", meta, value, config)
