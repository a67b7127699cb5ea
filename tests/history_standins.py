"""A local stand-in for GitHub's REST API as the history importer reads it, with data written here from the
shapes GitHub's REST reference documents (list deployments, deployment statuses, pull requests, commits,
issues), pagination by ``page``/``per_page`` with ``Link: <…>; rel="next"``, and the rate-limit headers
(``x-ratelimit-limit/-remaining/-used/-reset``).

The quota is a :class:`Bucket`: GitHub's fixed hourly window by default, or a token bucket (the benchmark)
on a clock that may run faster than the wall's. ``trouble(path, params, n)`` decides, per request, whether
to misbehave: ``"500"``, ``"429"`` (with ``Retry-After``), ``"secondary"`` (GitHub's 403 secondary limit),
``"401"``, ``"403"`` (a token without the scope), ``"truncated"`` (a page cut short) or ``"hold"`` (wait
until ``release`` is set, for a kill mid-import).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from tests.factories import iso
from tests.standin import JsonHandler, serving

Trouble = Callable[[str, dict[str, str], int], str | None]
START = datetime(2026, 1, 5, tzinfo=UTC)


def sha_of(repo: int, kind: str, n: int) -> str:
    return f"{repo:04x}{'abcdef'.index(kind):02x}{n:034x}"


@dataclass(slots=True)
class GhRepo:
    """One repository's history as GitHub's API lists it (newest first where GitHub sorts so)."""

    full_name: str
    deployments: list[dict[str, Any]] = field(default_factory=list)
    statuses: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pulls: list[dict[str, Any]] = field(default_factory=list)
    pull_commits: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    commits: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)

    @property
    def api(self) -> dict[str, Any]:
        owner, name = self.full_name.split("/")
        return {
            "id": abs(hash(self.full_name)) % 10**8,
            "node_id": "R_kgDOabc",
            "name": name,
            "full_name": self.full_name,
            "private": True,
            "owner": {"login": owner, "id": 1, "type": "Organization"},
            "html_url": f"https://github.com/{self.full_name}",
            "default_branch": "main",
        }


def api_commit(repo: str, sha: str, at: datetime, author: str, message: str) -> dict[str, Any]:
    """A commit as ``GET /repos/{o}/{r}/commits`` lists it."""
    person = {"name": author.title(), "email": f"{author}@example.com", "date": iso(at)}
    return {
        "sha": sha,
        "node_id": "C_kwDOabc",
        "commit": {"author": person, "committer": person, "message": message, "comment_count": 0},
        "url": f"https://api.github.com/repos/{repo}/commits/{sha}",
        "html_url": f"https://github.com/{repo}/commit/{sha}",
        "author": {"login": author, "id": 583231, "type": "User"},
        "committer": {"login": author, "id": 583231, "type": "User"},
        "parents": [],
    }


def make_repo(index: int, full_name: str, *, days: int, start: datetime = START) -> GhRepo:
    """A repository's ``days`` of history: a default-branch commit a day, a merged pull request (two
    commits) every day, a production deployment every second day (every fifth one failed, its status
    list holding ``in_progress`` then the outcome), an incident issue every ten days (closed a day later
    but the last one)."""
    repo = GhRepo(full_name)
    for day in range(days):
        at = start + timedelta(days=day, hours=10)
        commit = api_commit(full_name, sha_of(index, "a", day), at, "octocat", f"fix ENG-{day} totals")
        if day % 7 == 3:  # commit.author is nullable (a git author with no GitHub account), or an empty object
            commit["author"] = None if day % 2 else {}
        repo.commits.append(commit)
        number = 100 + day
        merged = at + timedelta(hours=3)
        branch_commits = [
            api_commit(full_name, sha_of(index, "b", 2 * day + k), at - timedelta(hours=6 - k), "hubot", "wip")
            for k in range(2)
        ]
        repo.pull_commits[number] = branch_commits
        repo.pulls.append(
            {
                "url": f"https://api.github.com/repos/{full_name}/pulls/{number}",
                "id": 10_000 + number,
                "number": number,
                "state": "closed",
                "title": f"Change {number}",
                "body": None,
                "created_at": iso(at - timedelta(hours=6)),
                "updated_at": iso(merged + timedelta(minutes=1)),
                "closed_at": iso(merged),
                "merged_at": iso(merged),
                "merge_commit_sha": sha_of(index, "c", day),
                "head": {"label": f"acme:feature-{day}", "ref": f"feature-{day}", "sha": branch_commits[-1]["sha"]},
                "base": {"label": "acme:main", "ref": "main", "sha": sha_of(index, "a", day)},
            }
        )
        if day % 9 == 5:  # closed without merging: merged_at is null (pull-request-simple's merged_at is nullable)
            repo.pulls.append(
                {
                    "url": f"https://api.github.com/repos/{full_name}/pulls/{5000 + day}",
                    "id": 20_000 + day,
                    "number": 5000 + day,
                    "state": "closed",
                    "title": f"Abandoned change {day}",
                    "body": None,
                    "created_at": iso(at - timedelta(hours=8)),
                    "updated_at": iso(at + timedelta(hours=1)),
                    "closed_at": iso(at + timedelta(hours=1)),
                    "merged_at": None,
                    "merge_commit_sha": None,
                    "head": {"label": f"acme:spike-{day}", "ref": f"spike-{day}", "sha": sha_of(index, "d", day)},
                    "base": {"label": "acme:main", "ref": "main", "sha": sha_of(index, "a", day)},
                }
            )
        if day % 2 == 0:
            deployment_id = index * 100_000 + day
            created = at + timedelta(hours=4)
            repo.deployments.append(
                {
                    "url": f"https://api.github.com/repos/{full_name}/deployments/{deployment_id}",
                    "id": deployment_id,
                    "node_id": "DE_kwDOabc",
                    "sha": sha_of(index, "a", day),
                    "ref": "main",
                    "task": "deploy",
                    "payload": {},
                    "original_environment": "production",
                    "environment": "production",
                    "description": None,
                    "creator": None if day % 8 == 6 else {"login": "octocat", "id": 583231},  # nullable-simple-user
                    "created_at": iso(created),
                    "updated_at": iso(created + timedelta(minutes=9)),
                    "statuses_url": f"https://api.github.com/repos/{full_name}/deployments/{deployment_id}/statuses",
                }
            )
            outcome = "failure" if day % 10 == 4 else "success"
            repo.statuses[deployment_id] = [  # newest first, as GitHub lists them
                _status(full_name, deployment_id, 2, outcome, created + timedelta(minutes=9)),
                _status(full_name, deployment_id, 1, "in_progress", created + timedelta(minutes=1)),
            ]
        if day % 10 == 3:
            closed = day + 10 < days
            repo.issues.append(
                {
                    "id": 50_000 + day,
                    "node_id": "I_kwDOabc",
                    "number": 1000 + day,
                    "title": f"Checkout errors on day {day}",
                    "labels": [{"id": 1, "name": "incident", "color": "d73a4a", "default": False}],
                    "state": "closed" if closed else "open",
                    "state_reason": "completed" if closed else None,
                    "created_at": iso(at + timedelta(hours=5)),
                    "updated_at": iso(at + timedelta(days=1 if closed else 0, hours=5)),
                    "closed_at": iso(at + timedelta(days=1, hours=5)) if closed else None,
                    "html_url": f"https://github.com/{full_name}/issues/{1000 + day}",
                    "user": None if day % 20 == 13 else {"login": "octocat", "id": 583231},  # a deleted account
                }
            )
    repo.issues.append(  # the issues list holds pull requests too: an importer must skip them
        {
            "id": 99_999,
            "number": 999,
            "title": "Revert the incident fix",
            "labels": [{"id": 1, "name": "incident"}],
            "state": "closed",
            "created_at": iso(start + timedelta(days=1)),
            "updated_at": iso(start + timedelta(days=1)),
            "pull_request": {"url": f"https://api.github.com/repos/{full_name}/pulls/999", "merged_at": None},
        }
    )
    for listed in (repo.commits, repo.pulls, repo.deployments, repo.issues):
        listed.reverse()  # newest first
    return repo


def _status(repo: str, deployment_id: int, n: int, state: str, at: datetime) -> dict[str, Any]:
    return {
        "url": f"https://api.github.com/repos/{repo}/deployments/{deployment_id}/statuses/{n}",
        "id": deployment_id * 10 + n,
        "node_id": "DES_kwDOabc",
        "state": state,
        "creator": {"login": "octocat", "id": 583231},
        "description": "",
        "environment": "production",
        "target_url": "",
        "log_url": f"https://ci.example.com/deploys/{deployment_id}",
        "created_at": iso(at),
        "updated_at": iso(at),
        "deployment_url": f"https://api.github.com/repos/{repo}/deployments/{deployment_id}",
        "repository_url": f"https://api.github.com/repos/{repo}",
    }


class Bucket:
    """The quota. ``rate`` None: GitHub's fixed window (``limit`` requests, all back at ``reset``); a rate
    (requests per second): a token bucket of ``limit`` tokens. ``clock`` gives epoch seconds."""

    def __init__(
        self, limit: int = 5000, *, window: float = 3600.0, rate: float | None = None, clock: Callable[[], float]
    ) -> None:
        self.limit, self.window, self.rate, self.clock = limit, window, rate, clock
        self.tokens = float(limit)
        self.stamp = clock()
        self.reset_at = self.stamp + window
        self.refused = 0
        self.lock = threading.Lock()

    def take(self) -> tuple[bool, int, int]:
        """(allowed, remaining, reset epoch seconds)."""
        with self.lock:
            now = self.clock()
            if self.rate is None:
                if now >= self.reset_at:
                    self.tokens, self.reset_at = float(self.limit), now + self.window
                reset = self.reset_at
            else:
                self.tokens = min(float(self.limit), self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
            allowed = self.tokens >= 1
            if allowed:
                self.tokens -= 1
            else:
                self.refused += 1
            if self.rate is not None:
                reset = now + (self.limit - self.tokens) / self.rate  # when the bucket is full again
            return allowed, int(self.tokens), math.ceil(reset)


@dataclass(slots=True)
class GitHubStandIn:
    repos: dict[str, GhRepo]
    trouble: Trouble = field(default=lambda _path, _params, _n: None)
    bucket: Bucket | None = None
    clock: Callable[[], float] = time.time
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        """(status, body, headers) for a GET, from the repositories; 404 for anything else."""
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[0] != "repos" or f"{parts[1]}/{parts[2]}" not in self.repos:
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}
        repo, rest = self.repos[f"{parts[1]}/{parts[2]}"], parts[3:]
        if not rest:
            return 200, repo.api, {}
        listed = self._listed(repo, rest, params)
        if listed is None:
            return 404, {"message": "Not Found"}, {}
        if isinstance(listed, dict):
            return 200, listed, {}
        return self._page(path, params, listed)

    def _listed(self, repo: GhRepo, rest: list[str], params: dict[str, str]) -> list[Any] | dict[str, Any] | None:
        match rest:
            case ["deployments"]:
                return repo.deployments
            case ["deployments", number, "statuses"]:
                return repo.statuses.get(int(number), [])
            case ["pulls"]:
                return repo.pulls if params.get("state") in ("closed", "all") else []
            case ["pulls", number, "commits"]:
                return repo.pull_commits.get(int(number), [])
            case ["commits"]:
                since, until = params.get("since", ""), params.get("until", "9999")
                return [c for c in repo.commits if since <= c["commit"]["committer"]["date"] <= until]
            case ["commits", sha]:
                found = next((c for c in repo.commits if c["sha"] == sha), None)
                return None if found is None else {**found, "files": [{"filename": "services/cart/app.py"}]}
            case ["issues"]:
                label, since = params.get("labels", ""), params.get("since", "")
                return [
                    i for i in repo.issues if any(x["name"] == label for x in i["labels"]) and i["updated_at"] >= since
                ]
        return None

    def _page(self, path: str, params: dict[str, str], items: list[Any]) -> tuple[int, Any, dict[str, str]]:
        size = min(int(params.get("per_page", "30")), 100)
        page = int(params.get("page", "1"))
        chunk = items[(page - 1) * size : page * size]
        links = []
        last = max(1, math.ceil(len(items) / size))
        if page < last:
            links.append(f'<{self.url}{path}?{urlencode({**params, "page": page + 1})}>; rel="next"')
            links.append(f'<{self.url}{path}?{urlencode({**params, "page": last})}>; rel="last"')
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})


def _handler(stand_in: GitHubStandIn) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:
            path, params = self.path_and_query()
            with stand_in.lock:
                stand_in.requests.append((path, params))
                n = len(stand_in.requests)
            if not self.headers.get("Authorization", "").startswith("Bearer "):
                return self.reply(401, {"message": "Requires authentication"})
            trouble = stand_in.trouble(path, params, n)
            if trouble == "hold":
                stand_in.release.wait(60)
            quota: dict[str, str] = {}
            if stand_in.bucket is not None:
                allowed, remaining, reset = stand_in.bucket.take()
                quota = {
                    "x-ratelimit-limit": str(stand_in.bucket.limit),
                    "x-ratelimit-remaining": str(remaining),
                    "x-ratelimit-reset": str(reset),
                    "x-ratelimit-resource": "core",
                }
                if not allowed:
                    body = {"message": "API rate limit exceeded for user ID 1."}
                    return self.send(403, body, quota)
            status, body, headers = self._troubled(trouble) or stand_in.answer(path, params)
            if trouble == "truncated":
                return self.send(200, body, {**quota, **headers}, cut=True)
            return self.send(status, body, {**quota, **headers})

        def _troubled(self, trouble: str | None) -> tuple[int, Any, dict[str, str]] | None:
            answers: dict[str, tuple[int, Any, dict[str, str]]] = {
                "500": (502, {"message": "Server Error"}, {}),
                "429": (429, {"message": "too many requests"}, {"Retry-After": "1"}),
                "secondary": (
                    403,
                    {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."},
                    {"Retry-After": "2"},
                ),
                "401": (401, {"message": "Bad credentials"}, {}),
                "403": (403, {"message": "Resource not accessible by personal access token"}, {}),
            }
            return answers.get(trouble or "")

        def send(self, status: int, body: Any, headers: dict[str, str], *, cut: bool = False) -> None:
            data = json.dumps(body).encode()
            if cut:
                data = data[: len(data) // 2]
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


@contextmanager
def serve_github(stand_in: GitHubStandIn) -> Iterator[GitHubStandIn]:
    with serving(_handler(stand_in)) as url:
        stand_in.url = url
        try:
            yield stand_in
        finally:
            stand_in.release.set()
