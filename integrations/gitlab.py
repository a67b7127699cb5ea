"""GitLab webhooks: Deployment, Pipeline (mapped names), Push and merged Merge Request hooks.

Authenticated by ``X-Gitlab-Token``. GitLab's own time format (``2021-04-28 21:50:00 +0200``, ``… UTC``)
is read as well as ISO 8601. The deployment hook has only a short sha; the full one ends ``commit_url``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations import forge
from integrations.config import IntegrationConfig
from integrations.payload import (
    Handler,
    Payload,
    PushCommit,
    VendorTime,
    dispatch,
    header_event_type,
    sha_from_url,
    validated,
)
from integrations.signatures import verify_token_header
from service.core.records import DeploymentRecord, Ignored, InboxMeta, ParseResult
from service.core.settings import Settings

SOURCE = "gitlab"
EVENT_HEADER = "x-gitlab-event"
event_type = header_event_type(EVENT_HEADER)
"""The webhook's event type: its header."""


def verify(headers: Mapping[str, str], body: bytes, settings: Settings) -> None:
    verify_token_header(headers, "x-gitlab-token", settings.gitlab_webhook_token, "GitLab")


class Project(Payload):
    name: str
    path_with_namespace: str
    default_branch: str = "main"


class DeploymentHook(Payload):
    status: str
    status_changed_at: VendorTime
    deployment_id: int
    environment: str
    short_sha: str | None = None
    commit_url: str | None = None
    deployable_url: str | None = None
    project: Project


class PushHook(Payload):
    ref: str
    after: str | None = None
    commits: list[PushCommit] = []
    project: Project


class _MergeRequest(Payload):
    iid: int
    title: str = ""
    description: str | None = None
    state: str
    action: str | None = None
    source_branch: str
    merge_commit_sha: str | None = None
    squash_commit_sha: str | None = None
    merged_at: VendorTime | None = None
    created_at: VendorTime | None = None
    updated_at: VendorTime


class MergeRequestHook(Payload):
    object_attributes: _MergeRequest
    project: Project


class _Pipeline(Payload):
    id: int
    name: str | None = None
    ref: str
    sha: str
    status: str
    created_at: VendorTime | None = None
    finished_at: VendorTime | None = None
    url: str | None = None


class PipelineHook(Payload):
    object_attributes: _Pipeline
    project: Project


DEPLOYMENT_STATUS = {"success": "success", "failed": "failure", "canceled": "cancelled", "running": "in_progress"}
"""A deployment hook's status → the deployment's; any other status does not change the outcome."""
PIPELINE_OUTCOMES = {"success": "success", "failed": "failure", "canceled": "cancelled"}
"""A finished pipeline's status → the deployment's; any other status has not finished."""


def _service(config: IntegrationConfig, project: Project) -> str:
    return config.service_for(project.path_with_namespace, project.name, fallback=project.name)


def _forge_repository(config: IntegrationConfig, project: Project) -> forge.ForgeRepository:
    return forge.ForgeRepository(project.path_with_namespace, project.default_branch, _service(config, project))


def _deployment(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    hook = validated(DeploymentHook, value)
    status = DEPLOYMENT_STATUS.get(hook.status)
    if status is None:
        return Ignored(f"deployment status {hook.status!r} does not change the outcome")
    return [
        DeploymentRecord(
            source=SOURCE,
            external_id=str(hook.deployment_id),
            service=_service(config, hook.project),
            environment=hook.environment,
            status=status,
            finished_at=None if status == "in_progress" else hook.status_changed_at,
            started_at=hook.status_changed_at if status == "in_progress" else None,
            sha=sha_from_url(hook.commit_url) or hook.short_sha or None,
            repository=hook.project.path_with_namespace,
            url=hook.deployable_url,
        )
    ]


def _push(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    hook = validated(PushHook, value)
    if not hook.ref.startswith("refs/heads/") or not hook.commits:
        return Ignored("tag push, branch deletion or a push without commits")
    commits = forge.pushed_commits(hook.commits, lambda c: c.author.name or c.author.email)
    return forge.pushed_changes(meta, config, _forge_repository(config, hook.project), hook.ref, commits)


def _merge_request(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    hook = validated(MergeRequestHook, value)
    mr = hook.object_attributes
    landed = mr.squash_commit_sha or mr.merge_commit_sha
    if mr.state != "merged" or not landed:
        return Ignored(f"merge request {mr.action or mr.state}, not merged")
    merged_at, texts = mr.merged_at or mr.updated_at, [mr.title, mr.description]
    repository = hook.project.path_with_namespace
    return forge.merged_request(repository, mr.iid, mr.source_branch, landed, merged_at, mr.created_at, texts)


def _pipeline(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    hook = validated(PipelineHook, value)
    pipeline = hook.object_attributes
    outcome = PIPELINE_OUTCOMES.get(pipeline.status) if pipeline.finished_at is not None else None
    run = forge.CIRun(
        kind="pipeline",
        name=pipeline.name,
        external_id=f"pipeline-{pipeline.id}",
        branch=pipeline.ref,
        sha=pipeline.sha,
        outcome=Ignored(f"pipeline {pipeline.status}, not finished") if outcome is None else outcome,
        started_at=pipeline.created_at,
        finished_at=pipeline.finished_at,
        url=pipeline.url,
    )
    return forge.ci_deployment(config, SOURCE, _forge_repository(config, hook.project), run)


HANDLERS: dict[str, Handler] = {
    "Deployment Hook": _deployment,
    "Push Hook": _push,
    "Merge Request Hook": _merge_request,
    "Pipeline Hook": _pipeline,
}


def delivery_key(headers: Mapping[str, str]) -> str | None:
    return headers.get("idempotency-key") or headers.get("x-gitlab-event-uuid")


def parse(meta: InboxMeta, value: Any, config: IntegrationConfig) -> ParseResult:
    return dispatch(HANDLERS, "GitLab", meta, value, config)
