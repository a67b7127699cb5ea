"""GitHub's history through its REST API, as the webhook events ``integrations.github`` parses.

Four scopes per repository, each paged with ``Link: rel="next"`` (100 a page):

* ``deployments``: ``GET /repos/{repo}/deployments`` (newest first), and for each one in the window its
  newest status (``GET …/deployments/{id}/statuses``) → a ``deployment_status`` event (a ``deployment``
  event when it has none yet).
* ``pulls``: ``GET /repos/{repo}/pulls?state=closed&sort=updated`` → each pull request merged in the window
  as a ``pull_request`` ``closed`` event, and its commits (``GET …/pulls/{n}/commits``) as a ``push`` to its
  head branch, so lead time has the branch's first commit.
* ``commits``: ``GET /repos/{repo}/commits?sha=<default branch>&since&until`` → one ``push`` to the default
  branch per page; in a monorepo (FRICTIONLOG_MONOREPO_PATHS) each commit's files are read too
  (``GET …/commits/{sha}``), so the path prefixes map it to its services as the webhook's would.
* ``incidents``: ``GET /repos/{repo}/issues?labels=<incident label>&state=all&since`` → an ``issues`` event,
  ``closed`` or ``opened`` as the issue stands (pull requests in that list are skipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from integrations import github as webhook
from integrations.config import IntegrationConfig
from integrations.history.checkpoint import Window
from integrations.history.client import ApiClient, Credential, ImportFailed
from integrations.history.paging import as_object, link_next
from integrations.history.runner import Batch, Scope, delivery
from integrations.history.scope import KindScope, kind_scopes
from service.core.errors import InvalidInput
from service.core.timeutil import parse_timestamp

SOURCE = webhook.SOURCE
KINDS = ("deployments", "pulls", "commits", "incidents")
NEEDS = (
    "read access to the repository: a classic token with `repo` (`public_repo` for public repositories), "
    "or a fine-grained token with Metadata, Contents, Deployments, Issues and Pull requests: read"
)
PER_PAGE = 100


def credential(token: str) -> Credential:
    return Credential(
        {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
        "FRICTIONLOG_GITHUB_TOKEN",
        NEEDS,
    )


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value, field="created_at")
    except InvalidInput:
        return None


def _in(window: Window, moment: datetime | None) -> bool:
    return moment is not None and window.since <= moment < window.until


def _items(data: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise ImportFailed(f"{what}: the answer is not a list")
    return [item for item in data if isinstance(item, dict)]


@dataclass(slots=True)
class Repository:
    """``GET /repos/{repo}`` once per repository: the payload's ``repository`` (name, default branch)."""

    full_name: str
    fetched: dict[str, Any] | None = None

    def payload(self, client: ApiClient) -> dict[str, Any]:
        if self.fetched is None:
            data = client.get(f"/repos/{self.full_name}", scope=f"{self.full_name} (metadata)").data
            if not isinstance(data, dict):
                raise ImportFailed(f"{self.full_name}: the repository answer is not an object")
            self.fetched = {
                "full_name": data.get("full_name") or self.full_name,
                "name": data.get("name") or self.full_name.rsplit("/", 1)[-1],
                "default_branch": data.get("default_branch") or "main",
            }
        return self.fetched


def _deployments(
    scope: RepoScope, client: ApiClient, repo: dict[str, Any], cursor: str | None, window: Window
) -> Batch:
    name = repo["full_name"]
    page = client.get(cursor or f"/repos/{name}/deployments?per_page={PER_PAGE}", scope=scope.key)
    deployments = _items(page.data, scope.key)
    out, skipped = [], []
    for deployment in deployments:
        created = _time(deployment.get("created_at"))
        if not _in(window, created):
            continue
        if "id" not in deployment:
            skipped.append("deployment without an id")
            continue
        statuses_url = f"/repos/{name}/deployments/{deployment['id']}/statuses?per_page={PER_PAGE}"
        statuses = _items(client.get(statuses_url, scope=scope.key).data, scope.key)
        newest = statuses[0] if statuses else None
        body: dict[str, Any] = {"deployment": deployment, "repository": repo}
        if newest is None:
            out.append(delivery(SOURCE, "deployment", body, f"deployment:{deployment['id']}"))
        else:
            body["deployment_status"] = newest
            status_id = newest.get("id", newest.get("created_at"))
            out.append(delivery(SOURCE, "deployment_status", body, f"deployment_status:{deployment['id']}:{status_id}"))
    oldest = _time(deployments[-1].get("created_at")) if deployments else None
    finished = oldest is None or oldest < window.since
    return Batch(out, None if finished else link_next(page.headers), skipped)


def _push(
    repo: dict[str, Any], branch: str, commits: list[dict[str, Any]], files: dict[str, list[str]]
) -> dict[str, Any]:
    """A push webhook's body for these API commits (oldest first, as a push lists them)."""
    shown = []
    for item in commits:
        detail = as_object(item.get("commit"))
        author = as_object(detail.get("author"))
        login = as_object(item.get("author")).get("login")
        shown.append(
            {
                "id": item.get("sha"),
                "timestamp": author.get("date"),
                "message": detail.get("message") or "",
                "author": {"name": author.get("name"), "username": login},
                "modified": files.get(str(item.get("sha")), []),
            }
        )
    return {"ref": f"refs/heads/{branch}", "commits": shown, "repository": repo}


def _pulls(scope: RepoScope, client: ApiClient, repo: dict[str, Any], cursor: str | None, window: Window) -> Batch:
    name = repo["full_name"]
    first = f"/repos/{name}/pulls?state=closed&sort=updated&direction=desc&per_page={PER_PAGE}"
    page = client.get(cursor or first, scope=scope.key)
    pulls = _items(page.data, scope.key)
    out, skipped = [], []
    for pull in pulls:
        if pull.get("merged_at") is None and _in(window, _time(pull.get("closed_at"))):
            skipped.append("pull request closed without merging")  # merged_at is null: not a delivery
            continue
        if not _in(window, _time(pull.get("merged_at"))) or "number" not in pull:
            continue
        number = pull["number"]
        body = {"action": "closed", "pull_request": {**pull, "merged": True}, "repository": repo}
        out.append(delivery(SOURCE, "pull_request", body, f"pull_request:{name}#{number}"))
        listed = client.get(f"/repos/{name}/pulls/{number}/commits?per_page={PER_PAGE}", scope=scope.key)
        commits = _items(listed.data, scope.key)
        head = as_object(pull.get("head"))
        if commits and head.get("ref"):
            push = _push(repo, str(head["ref"]), commits, _files(scope, client, name, commits))
            out.append(delivery(SOURCE, "push", push, f"pull_commits:{name}#{number}"))
    oldest = _time(pulls[-1].get("updated_at")) if pulls else None
    finished = oldest is None or oldest < window.since
    return Batch(out, None if finished else link_next(page.headers), skipped)


def _files(scope: RepoScope, client: ApiClient, name: str, commits: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each commit's changed files, read only where they decide the service (a monorepo)."""
    if not scope.config.is_monorepo(name):
        return {}
    found: dict[str, list[str]] = {}
    for item in commits:
        sha = str(item.get("sha"))
        data = client.get(f"/repos/{name}/commits/{sha}", scope=scope.key).data
        files = data.get("files") if isinstance(data, dict) else None
        found[sha] = [str(f["filename"]) for f in files or [] if isinstance(f, dict) and "filename" in f]
    return found


def _commits(scope: RepoScope, client: ApiClient, repo: dict[str, Any], cursor: str | None, window: Window) -> Batch:
    name, branch = repo["full_name"], repo["default_branch"]
    first = (
        f"/repos/{name}/commits?sha={quote(branch, safe='')}&since={iso(window.since)}"
        f"&until={iso(window.until)}&per_page={PER_PAGE}"
    )
    page = client.get(cursor or first, scope=scope.key)
    commits = _items(page.data, scope.key)[::-1]
    if not commits:
        return Batch([], link_next(page.headers))
    push = _push(repo, branch, commits, _files(scope, client, name, commits))
    return Batch([delivery(SOURCE, "push", push)], link_next(page.headers))


def _incidents(scope: RepoScope, client: ApiClient, repo: dict[str, Any], cursor: str | None, window: Window) -> Batch:
    name = repo["full_name"]
    label = quote(scope.config.incident_label, safe="")
    first = f"/repos/{name}/issues?labels={label}&state=all&since={iso(window.since)}&per_page={PER_PAGE}"
    page = client.get(cursor or first, scope=scope.key)
    out, skipped = [], []
    for issue in _items(page.data, scope.key):
        if "pull_request" in issue:
            skipped.append("a pull request carrying the incident label")
            continue
        if (created := _time(issue.get("created_at"))) is None or created >= window.until:
            continue
        action = "closed" if issue.get("state") == "closed" else "opened"
        out.append(delivery(SOURCE, "issues", {"action": action, "issue": issue, "repository": repo}))
    return Batch(out, link_next(page.headers), skipped)


@dataclass(slots=True)
class RepoScope(KindScope):
    subject: Repository
    source = SOURCE
    key_format = "{subject.full_name}:{kind}"
    fetchers = {"deployments": _deployments, "pulls": _pulls, "commits": _commits, "incidents": _incidents}


def scopes(repositories: list[str], config: IntegrationConfig, kinds: tuple[str, ...] = KINDS) -> list[Scope]:
    """The scopes of these ``owner/name`` repositories, the repository fetched once for all four."""
    return kind_scopes(RepoScope, [Repository(full_name.strip("/")) for full_name in repositories], config, kinds)
