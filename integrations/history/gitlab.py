"""GitLab's history through its REST API v4, as the webhook events ``integrations.gitlab`` parses.

Four scopes per project, 100 a page, offset pagination (none of these endpoints offers keyset): the next
page from the ``Link: rel="next"`` GitLab sends with offset pages too, else ``X-Next-Page``:

* ``deployments``: ``GET /projects/:id/deployments?updated_after&updated_before&order_by=updated_at`` → a
  ``Deployment Hook`` when it started (``running``, at ``created_at``) and one with its outcome (at its
  job's ``deployable.finished_at``; a deployment made through the API has no job, so at ``updated_at``),
  as the webhook sends them.
* ``merge_requests``: ``GET /projects/:id/merge_requests?state=merged&updated_after…`` → a merged
  ``Merge Request Hook``, and its commits (``GET …/merge_requests/:iid/commits``) as a ``Push Hook`` to its
  source branch.
* ``pipelines``: ``GET /projects/:id/pipelines?ref=<default branch>&updated_after…`` → for a pipeline whose
  name FRICTIONLOG_WORKFLOW_ENVIRONMENTS maps and that finished, a ``Pipeline Hook`` (``GET …/pipelines/:id``
  for its ``finished_at``); the others are skipped with the webhook parser's reason, without a request.
* ``commits``: ``GET /projects/:id/repository/commits?ref_name=<default branch>&since&until`` → a
  ``Push Hook`` per page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from integrations import gitlab as webhook
from integrations.config import IntegrationConfig
from integrations.forge import ci_environment, ci_unmapped
from integrations.history.checkpoint import Window
from integrations.history.client import ApiClient, Credential, ImportFailed, Page
from integrations.history.paging import as_object, link_next, next_page_header
from integrations.history.runner import Batch, Scope, delivery
from integrations.history.scope import KindScope, kind_scopes

SOURCE = webhook.SOURCE
KINDS = ("deployments", "merge_requests", "pipelines", "commits")
NEEDS = "the `read_api` scope (a personal, group or project access token with at least the Reporter role)"
PER_PAGE = 100
DEPLOYMENT_ENDED = tuple(status for status, mapped in webhook.DEPLOYMENT_STATUS.items() if mapped != "in_progress")
"""Statuses a deployment ends in, as the webhook parser reads them."""
PIPELINE_ENDED = tuple(webhook.PIPELINE_OUTCOMES)


def credential(token: str) -> Credential:
    return Credential({"PRIVATE-TOKEN": token}, "FRICTIONLOG_GITLAB_TOKEN", NEEDS)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _items(data: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise ImportFailed(f"{what}: the answer is not a list")
    return [item for item in data if isinstance(item, dict)]


def next_url(page: Page) -> str | None:
    """Keyset pagination's ``Link: rel="next"``, else offset pagination's ``X-Next-Page`` on the same query."""
    linked = link_next(page.headers)
    if linked:
        return linked
    number = next_page_header(page.headers)
    if number is None:
        return None
    base, _, query = page.url.partition("?")
    kept = [part for part in query.split("&") if part and not part.startswith("page=")]
    return f"{base}?{'&'.join([*kept, f'page={number}'])}"


@dataclass(slots=True)
class Project:
    """``GET /projects/:path`` once: the hooks' ``project`` (name, path, default branch, web URL)."""

    path: str
    fetched: dict[str, Any] | None = None

    @property
    def api(self) -> str:
        return f"/projects/{quote(self.path, safe='')}"

    def payload(self, client: ApiClient) -> dict[str, Any]:
        if self.fetched is None:
            data = client.get(self.api, scope=f"{self.path} (metadata)").data
            if not isinstance(data, dict):
                raise ImportFailed(f"{self.path}: the project answer is not an object")
            self.fetched = {
                "id": data.get("id"),
                "name": data.get("name") or self.path.rsplit("/", 1)[-1],
                "path_with_namespace": data.get("path_with_namespace") or self.path,
                "default_branch": data.get("default_branch") or "main",
                "web_url": data.get("web_url") or "",
            }
        return self.fetched


def _updated(window: Window) -> str:
    return f"updated_after={_iso(window.since)}&updated_before={_iso(window.until)}&per_page={PER_PAGE}"


def _deployments(
    scope: ProjectScope, client: ApiClient, project: dict[str, Any], cursor: str | None, window: Window
) -> Batch:
    first = f"{scope.subject.api}/deployments?order_by=updated_at&sort=asc&{_updated(window)}"
    page = client.get(cursor or first, scope=scope.key)
    out, skipped = [], []
    for item in _items(page.data, scope.key):
        environment = as_object(item.get("environment"))
        deployable = as_object(item.get("deployable"))
        if "id" not in item or not environment.get("name") or not item.get("sha"):
            skipped.append("deployment without an id, an environment or a sha")
            continue
        hook = {
            "object_kind": "deployment",
            "deployment_id": item["id"],
            "environment": environment["name"],
            "short_sha": str(item["sha"])[:8],
            "commit_url": f"{project['web_url']}/-/commit/{item['sha']}",
            "deployable_url": deployable.get("web_url"),
            "project": project,
        }
        started = {**hook, "status": "running", "status_changed_at": item.get("created_at")}
        out.append(delivery(SOURCE, "Deployment Hook", started, f"gitlab:deployment:{item['id']}:running"))
        if item.get("status") in DEPLOYMENT_ENDED:  # the deployment has no finish time; its job has (none: API-made)
            at = deployable.get("finished_at") or item.get("updated_at")
            ended = {**hook, "status": item["status"], "status_changed_at": at}
            out.append(delivery(SOURCE, "Deployment Hook", ended, f"gitlab:deployment:{item['id']}:{item['status']}"))
    return Batch(out, next_url(page), skipped)


def _push(project: dict[str, Any], branch: str, commits: list[dict[str, Any]]) -> dict[str, Any]:
    """A Push Hook's body for API commits (given newest first; a push lists them oldest first)."""
    shown = [
        {
            "id": c.get("id"),
            "message": c.get("message") or c.get("title") or "",
            "timestamp": c.get("authored_date") or c.get("created_at"),
            "author": {"name": c.get("author_name"), "email": c.get("author_email")},
        }
        for c in commits[::-1]
    ]
    return {"object_kind": "push", "ref": f"refs/heads/{branch}", "commits": shown, "project": project}


def _merge_requests(
    scope: ProjectScope, client: ApiClient, project: dict[str, Any], cursor: str | None, window: Window
) -> Batch:
    first = f"{scope.subject.api}/merge_requests?state=merged&order_by=updated_at&sort=asc&{_updated(window)}"
    page = client.get(cursor or first, scope=scope.key)
    out = []
    for mr in _items(page.data, scope.key):
        if "iid" not in mr:
            continue
        body = {"object_kind": "merge_request", "object_attributes": {**mr, "action": "merge"}, "project": project}
        name = f"gitlab:merge_request:{project['path_with_namespace']}!{mr['iid']}"
        out.append(delivery(SOURCE, "Merge Request Hook", body, name))
        listed = client.get(
            f"{scope.subject.api}/merge_requests/{mr['iid']}/commits?per_page={PER_PAGE}", scope=scope.key
        )
        commits = _items(listed.data, scope.key)
        if commits and mr.get("source_branch"):
            push = _push(project, str(mr["source_branch"]), commits)
            out.append(delivery(SOURCE, "Push Hook", push, f"{name}:commits"))
    return Batch(out, next_url(page))


def _pipelines(
    scope: ProjectScope, client: ApiClient, project: dict[str, Any], cursor: str | None, window: Window
) -> Batch:
    branch = quote(project["default_branch"], safe="")
    first = f"{scope.subject.api}/pipelines?ref={branch}&order_by=updated_at&sort=asc&{_updated(window)}"
    page = client.get(cursor or first, scope=scope.key)
    out, skipped = [], []
    for pipeline in _items(page.data, scope.key):
        if pipeline.get("status") not in PIPELINE_ENDED:
            skipped.append(f"pipeline {pipeline.get('status')}, not finished")
            continue
        if "name" in pipeline and ci_environment(scope.config, pipeline["name"]) is None:  # null: no workflow:name
            skipped.append(ci_unmapped("pipeline", pipeline["name"]).reason)
            continue
        detail = client.get(f"{scope.subject.api}/pipelines/{pipeline.get('id')}", scope=scope.key).data
        detail = detail if isinstance(detail, dict) else pipeline
        attributes = {**pipeline, **detail, "url": detail.get("web_url")}
        body = {"object_kind": "pipeline", "object_attributes": attributes, "project": project}
        out.append(
            delivery(SOURCE, "Pipeline Hook", body, f"gitlab:pipeline:{pipeline.get('id')}:{pipeline['status']}")
        )
    return Batch(out, next_url(page), skipped)


def _commits(
    scope: ProjectScope, client: ApiClient, project: dict[str, Any], cursor: str | None, window: Window
) -> Batch:
    branch = quote(project["default_branch"], safe="")
    first = (
        f"{scope.subject.api}/repository/commits?ref_name={branch}&since={_iso(window.since)}"
        f"&until={_iso(window.until)}&per_page={PER_PAGE}"
    )
    page = client.get(cursor or first, scope=scope.key)
    commits = _items(page.data, scope.key)
    pushed = [delivery(SOURCE, "Push Hook", _push(project, project["default_branch"], commits))] if commits else []
    return Batch(pushed, next_url(page))


@dataclass(slots=True)
class ProjectScope(KindScope):
    subject: Project
    source = SOURCE
    key_format = "{subject.path}:{kind}"
    fetchers = {
        "deployments": _deployments,
        "merge_requests": _merge_requests,
        "pipelines": _pipelines,
        "commits": _commits,
    }


def scopes(paths: list[str], config: IntegrationConfig, kinds: tuple[str, ...] = KINDS) -> list[Scope]:
    """The scopes of these projects (``group/name``), each project read once for all four."""
    return kind_scopes(ProjectScope, [Project(path.strip("/")) for path in paths], config, kinds)
