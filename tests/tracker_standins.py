"""Local stand-ins for GitLab's REST API v4, Opsgenie's Alert API, Jira Cloud's REST API v3 and Linear's
GraphQL API, as the history importers read them. The data is written here from the shapes each vendor's
reference documents; pagination is each vendor's own (GitLab ``X-Next-Page`` and keyset ``Link``, Opsgenie
``offset`` with ``paging.next``, Jira ``nextPageToken``/``isLast`` and changelog ``startAt``/``isLast``,
Linear ``pageInfo``), and so are the rate-limit answers.

``trouble(path, n)`` decides per request: ``"429"`` (with ``Retry-After``; Opsgenie's with its
``X-RateLimit-State``/``-Reason``/``-Period-In-Sec`` instead), ``"500"``, ``"ratelimited"`` (Linear's 400
with ``RATELIMITED``), ``"complexity"`` (a Linear answer whose complexity budget is spent) or None.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from tests.factories import iso
from tests.standin import JsonHandler, serving

Trouble = Callable[[str, int], str | None]
Answer = tuple[int, Any, dict[str, str]]
START = datetime(2026, 2, 2, tzinfo=UTC)


def sha(kind: int, n: int) -> str:
    return f"{kind:02x}{n:038x}"


# --- GitLab ------------------------------------------------------------------------------------------

GL_PROJECT = {
    "id": 278964,
    "name": "ledger",
    "path": "ledger",
    "path_with_namespace": "acme/ledger",
    "default_branch": "main",
    "web_url": "https://gitlab.example.com/acme/ledger",
}


def gl_commit(n: int, at: datetime, kind: int) -> dict[str, Any]:
    return {
        "id": sha(kind, n),
        "short_id": sha(kind, n)[:8],
        "title": f"Fix totals LED-{n}",
        "message": f"Fix totals LED-{n}\n",
        "author_name": "Jane Doe",
        "author_email": "jane@example.com",
        "authored_date": iso(at),
        "committer_name": "Jane Doe",
        "committer_email": "jane@example.com",
        "committed_date": iso(at),
        "created_at": iso(at),
        "parent_ids": [],
        "web_url": f"https://gitlab.example.com/acme/ledger/-/commit/{sha(kind, n)}",
    }


@dataclass(slots=True)
class GitLabData:
    days: int
    deployments: list[dict[str, Any]] = field(default_factory=list)
    merge_requests: list[dict[str, Any]] = field(default_factory=list)
    mr_commits: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    commits: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for day in range(self.days):
            at = START + timedelta(days=day, hours=9)
            self.commits.insert(0, gl_commit(day, at, 1))  # newest first, as GitLab lists them
            self.mr_commits[day + 1] = [gl_commit(day * 2 + k, at - timedelta(hours=5 - k), 2) for k in (1, 0)]
            merged = at + timedelta(hours=2)
            self.merge_requests.append(
                {
                    "id": 9000 + day,
                    "iid": day + 1,
                    "project_id": GL_PROJECT["id"],
                    "title": f"Ledger change {day}",
                    "description": None,
                    "state": "merged",
                    "created_at": iso(at - timedelta(hours=6)),
                    "updated_at": iso(merged),
                    "merged_at": iso(merged),
                    "merge_commit_sha": sha(3, day),
                    "squash_commit_sha": None,
                    "source_branch": f"feature/{day}",
                    "target_branch": "main",
                    "web_url": f"https://gitlab.example.com/acme/ledger/-/merge_requests/{day + 1}",
                }
            )
            created = at + timedelta(hours=3)
            status = "failed" if day % 5 == 2 else "success"
            self.deployments.append(
                {
                    "id": 41_000 + day,
                    "iid": day + 1,
                    "ref": "main",
                    "sha": sha(1, day),
                    "created_at": iso(created),
                    "updated_at": iso(created + timedelta(minutes=7)),  # no finished_at: the job (deployable) has it
                    "status": status,
                    "user": {"id": 1, "username": "jane"},
                    "environment": {"id": 9, "name": "production", "external_url": None},
                    "deployable": None  # a deployment created through the API has no job
                    if day % 7 == 6
                    else {
                        "id": 7000 + day,
                        "status": status,
                        "stage": "deploy",
                        "name": "deploy",
                        "ref": "main",
                        "created_at": iso(created - timedelta(minutes=1)),
                        "started_at": None if day % 9 == 4 else iso(created),
                        "finished_at": iso(created + timedelta(minutes=6)),
                        "web_url": f"https://gitlab.example.com/j/{day}",
                    },
                }
            )
            for offset, name in ((0, "deploy"), (1, "lint")):
                self.pipelines.append(
                    {
                        "id": 60_000 + 2 * day + offset,
                        "iid": 2 * day + offset,
                        "project_id": GL_PROJECT["id"],
                        "name": name,
                        "sha": sha(1, day),
                        "ref": "main",
                        "status": "success",
                        "source": "push",
                        "created_at": iso(at + timedelta(minutes=1)),
                        "updated_at": iso(at + timedelta(minutes=12)),
                        "web_url": f"https://gitlab.example.com/acme/ledger/-/pipelines/{60_000 + 2 * day + offset}",
                    }
                )

    def answer(self, path: str, params: dict[str, str], base: str) -> Answer:
        parts = unquote(path.removeprefix("/api/v4/projects/")).split("/")
        if "/".join(parts[:2]) != GL_PROJECT["path_with_namespace"]:
            return 404, {"message": "404 Project Not Found"}, {}
        tail_parts = parts[2:]
        since, until = params.get("updated_after", ""), params.get("updated_before", "9999")
        match tail_parts:
            case []:
                return 200, GL_PROJECT, {}
            case ["deployments"]:
                items = [d for d in self.deployments if since <= d["updated_at"] < until]
            case ["merge_requests"]:  # offset pagination only: keyset is not offered for merge requests
                items = [m for m in self.merge_requests if since <= m["updated_at"] < until]
            case ["merge_requests", iid, "commits"]:
                items = self.mr_commits.get(int(iid), [])
            case ["pipelines"]:
                items = [p for p in self.pipelines if since <= p["updated_at"] < until]
            case ["pipelines", pid]:
                found = next((p for p in self.pipelines if p["id"] == int(pid)), None)
                if found is None:
                    return 404, {"message": "404 Not found"}, {}
                return 200, {**found, "finished_at": found["updated_at"], "duration": 660}, {}
            case ["repository", "commits"]:
                lo, hi = params.get("since", ""), params.get("until", "9999")
                items = [c for c in self.commits if lo <= c["committed_date"] <= hi]
            case _:
                return 404, {"message": "404 Not found"}, {}
        return _offset(base + path, params, items)


def _offset(url: str, params: dict[str, str], items: list[Any]) -> Answer:
    """GitLab's offset pagination (doc/api/rest/_index.md): ``Link`` with prev/next/first/last and the
    ``x-next-page``/``x-page``/``x-per-page``/``x-prev-page`` headers, ``x-next-page`` empty on the last
    page; past 10,000 records no ``x-total``, ``x-total-pages`` or ``rel="last"``."""
    size, page = min(int(params.get("per_page", "20")), 100), int(params.get("page", "1"))
    last = max(1, math.ceil(len(items) / size))
    headers = {"X-Page": str(page), "X-Per-Page": str(size), "X-Prev-Page": str(page - 1) if page > 1 else ""}
    headers["X-Next-Page"] = str(page + 1) if page < last else ""
    links = {"first": 1} | ({"prev": page - 1} if page > 1 else {}) | ({"next": page + 1} if page < last else {})
    if len(items) <= 10_000:
        headers |= {"X-Total": str(len(items)), "X-Total-Pages": str(last)}
        links["last"] = last
    headers["Link"] = ", ".join(f'<{url}?{urlencode({**params, "page": n})}>; rel="{rel}"' for rel, n in links.items())
    return 200, items[(page - 1) * size : page * size], headers


# --- Opsgenie ----------------------------------------------------------------------------------------


def og_alerts(count: int) -> list[dict[str, Any]]:
    """``count`` alerts 5 hours apart: closed (acknowledged 4 min in, closed 30 min in), every third
    open and acknowledged, the last open."""
    alerts = []
    for n in range(count):
        created = START + timedelta(hours=5 * n)
        closed = n % 3 != 1 and n != count - 1
        acknowledged = n != count - 1
        report: dict[str, Any] = {}
        if acknowledged:
            report |= {"ackTime": 240_000, "acknowledgedBy": "jane@example.com"}
        if closed:
            report |= {"closeTime": 1_800_000, "closedBy": "jane@example.com"}
        alerts.append(
            {
                "id": f"70413a06-38d6-4c85-92b8-5ebc900d{n:04d}",
                "tinyId": str(n),
                "alias": f"alias-{n}",
                "message": "Ledger latency above 2 s",
                "status": "closed" if closed else "open",
                "acknowledged": acknowledged,
                "isSeen": True,
                "tags": ["service:ledger"],
                "snoozed": False,
                "count": 1,
                "lastOccurredAt": iso(created),
                "createdAt": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "updatedAt": iso(created + timedelta(minutes=30)),
                "source": "Datadog",
                "owner": "jane@example.com",
                "priority": "P2",
                "teams": [{"id": "8418d193-2dab-4490-b331-8c02cdd196b7"}],
                "responders": [],
                "integration": {"id": "4513b7ea", "name": "Datadog", "type": "Datadog"},
                "report": report,
            }
        )
    return alerts


def og_answer(alerts: list[dict[str, Any]], params: dict[str, str], base: str) -> Answer:
    low = high = None
    for term in params.get("query", "").replace("(", " ").replace(")", " ").split(" AND "):
        term = term.strip()
        if term.startswith("createdAt>="):
            low = int(term.removeprefix("createdAt>="))
        elif term.startswith("createdAt<"):
            high = int(term.removeprefix("createdAt<"))
    if low is None or high is None:
        return 422, {"message": "query is required", "took": 0.001, "requestId": "r"}, {}

    def ms(alert: dict[str, Any]) -> int:
        return int(datetime.fromisoformat(alert["createdAt"].replace("Z", "+00:00")).timestamp() * 1000)

    chosen = sorted((a for a in alerts if low <= ms(a) < high), key=ms)
    limit, offset = min(int(params.get("limit", "20")), 100), int(params.get("offset", "0"))
    chunk = chosen[offset : offset + limit]
    paging = {"first": f"{base}/v2/alerts?offset=0&limit={limit}"}
    if offset + limit < len(chosen):
        paging["next"] = f"{base}/v2/alerts?offset={offset + limit}&limit={limit}"
    return 200, {"data": chunk, "paging": paging, "took": 0.02, "requestId": "9ae63dd7"}, {}


# --- Jira --------------------------------------------------------------------------------------------

TODO = {"name": "To Do", "statusCategory": {"id": 2, "key": "new", "name": "To Do"}}
DOING = {"name": "In Progress", "statusCategory": {"id": 4, "key": "indeterminate", "name": "In Progress"}}
DONE = {"name": "Done", "statusCategory": {"id": 3, "key": "done", "name": "Done"}}


def _jira_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def jira_issues(count: int) -> list[dict[str, Any]]:
    """Issues of project LED created a day apart: To Do → In Progress (2 h) → Done (1 day), the newest
    still in progress; issue 1 moved back and forth many times (its changelog is longer than a search returns)."""
    issues = []
    for n in range(count):
        created = START + timedelta(days=n, hours=8)
        moves = [("In Progress", "To Do", created + timedelta(hours=2))]
        if n != count - 1:
            moves.append(("Done", "In Progress", created + timedelta(days=1)))
        if n == 1:
            moves = [
                *[
                    (to, frm, created + timedelta(minutes=10 * k + 5))
                    for k, (to, frm) in enumerate([("In Progress", "To Do"), ("To Do", "In Progress")] * 3)
                ],
                *moves,
            ]
        histories = [
            {
                "id": str(10_000 * (n + 1) + k),
                "author": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Jane"},
                "created": _jira_time(at),
                "items": [
                    {"field": "status", "fieldtype": "jira", "fromString": frm, "toString": to, "from": "1", "to": "3"},
                    *(  # ChangeDetails' from/fromString are nullable: an assignee set for the first time
                        [{"field": "assignee", "fieldtype": "jira", "from": None, "fromString": None, "to": "5b1"}]
                        if n % 4 == 0 and k == 0
                        else []
                    ),
                ],
            }
            for k, (to, frm, at) in enumerate(moves)
        ]
        key = f"LED-{n + 1}"
        issues.append(
            {
                "id": str(10_000 + n),
                "key": key,
                "self": f"https://acme.atlassian.net/rest/api/3/issue/{10_000 + n}",
                "fields": {
                    "summary": f"Ledger task {n}",
                    "issuetype": {"name": "Story"},
                    "project": {"id": "10000", "key": "LED", "name": "Ledger"},
                    "status": DONE if n != count - 1 else DOING,
                    "labels": ["service:ledger"],
                    "components": [],
                    **({} if n % 3 else {"parent": {"id": "10500", "key": "LED-100", "fields": {"summary": "Epic"}}}),
                    "created": _jira_time(created),
                    "updated": histories[-1]["created"],
                },
                "changelog": {"startAt": 0, "maxResults": 100, "total": len(histories), "histories": histories[::-1]},
            }
        )
    return issues


JIRA_CHANGELOG_PAGE = 5
"""The changelog endpoint may answer fewer than ``maxResults``; here 5 a page, so a long one takes several."""


def jira_answer(issues: list[dict[str, Any]], path: str, params: dict[str, str]) -> Answer:
    if path == "/rest/api/3/search/jql":
        jql = params.get("jql", "")
        if 'project = "LED"' not in jql:
            return 400, {"errorMessages": ["The value 'X' does not exist for the field 'project'."]}, {}
        bound = jql.split('updated >= "', 1)[1][:16] if 'updated >= "' in jql else ""
        chosen = [i for i in issues if _jira_minute(i["fields"]["updated"]) >= bound]
        size, start = min(int(params.get("maxResults", "50")), 100), int(params.get("nextPageToken", "0") or 0)
        chunk = [_searched(issue) for issue in chosen[start : start + size]]
        last = start + size >= len(chosen)
        # SearchAndReconcileResults: every property optional, nextPageToken null on the last page
        body: dict[str, Any] = {"isLast": last, "nextPageToken": None if last else str(start + size)}
        if chunk:
            body["issues"] = chunk
        return 200, body, {}
    parts = path.strip("/").split("/")
    if parts[:4] == ["rest", "api", "3", "issue"] and parts[-1] == "changelog":
        issue = next((i for i in issues if i["key"] == parts[4]), None)
        if issue is None:
            return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}, {}
        histories = issue["changelog"]["histories"][::-1]  # oldest first here, as the endpoint lists them
        start = int(params.get("startAt", "0"))
        size = min(int(params.get("maxResults", "100")), 100, JIRA_CHANGELOG_PAGE)
        values = histories[start : start + size]
        # PageBeanChangelog: isLast and nextPage are optional; this answer leaves them out
        return 200, {"startAt": start, "maxResults": size, "total": len(histories), "values": values}, {}
    return 404, {"errorMessages": ["not found"]}, {}


def _jira_minute(text: str) -> str:
    """A Jira time (``2026-02-02T08:00:00.000+0000``) as JQL's ``yyyy-MM-dd HH:mm``, in UTC."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _searched(issue: dict[str, Any]) -> dict[str, Any]:
    """The search returns only the newest 4 changelog entries of an issue here (Jira caps it too)."""
    changelog = issue["changelog"]
    return {**issue, "changelog": {**changelog, "maxResults": 4, "histories": changelog["histories"][:4]}}


# --- Linear ------------------------------------------------------------------------------------------


def linear_issues(count: int) -> list[dict[str, Any]]:
    nodes = []
    for n in range(count):
        created = START + timedelta(days=n, hours=7)
        todo, doing, done = (
            {"name": s, "type": t}
            for s, t in (("Todo", "unstarted"), ("In Progress", "started"), ("Done", "completed"))
        )
        history: list[dict[str, Any]] = [
            {"id": f"h{n}-1", "createdAt": iso(created + timedelta(hours=1)), "fromState": todo, "toState": doing}
        ]
        if n != count - 1:
            history.append(
                {"id": f"h{n}-2", "createdAt": iso(created + timedelta(hours=30)), "fromState": doing, "toState": done}
            )
            if n % 5 == 2:  # a title edit: IssueHistory's fromState/toState are nullable, and null here
                edit_at = iso(created + timedelta(hours=2))
                history.insert(1, {"id": f"h{n}-e", "createdAt": edit_at, "fromState": None, "toState": None})
        nodes.append(
            {
                "id": f"9cfb482a-81e3-4154-b5b9-2c805e70{n:04d}",
                "identifier": f"ENG-{n + 1}",
                "number": n + 1,
                "title": f"Engine task {n}",
                "url": f"https://linear.app/acme/issue/ENG-{n + 1}",
                "createdAt": iso(created),
                "updatedAt": history[-1]["createdAt"],
                "state": history[-1]["toState"],
                "team": {"key": "ENG", "name": "Engine"},
                "labels": {"nodes": [{"name": "service:engine"}]},
                "parent": None,
                "project": None,
                "history": {"nodes": history[::-1]},
            }
        )
    return nodes


LINEAR_PROJECTS: list[dict[str, Any]] = [
    {
        "id": "5f8c6f3e-7c1a-4d2b-9e77-0a1b2c3d4e5f",
        "name": "Move ledger to the new platform",
        "state": "started",  # deprecated: "Use project.status instead"
        "status": {"name": "In Progress", "type": "started"},
        "url": "https://linear.app/acme/project/move-ledger",
        "createdAt": iso(START),
        "updatedAt": iso(START + timedelta(days=3)),
    }
]


def linear_answer(issues: list[dict[str, Any]], body: dict[str, Any]) -> Answer:
    query, variables = str(body.get("query", "")), body.get("variables") or {}
    kind = "issues" if "issues(" in query else "projects" if "projects(" in query else None
    if kind is None or variables.get("team") != "ENG":
        return 400, {"errors": [{"message": "Unknown query", "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]}, {}
    nodes = issues if kind == "issues" else LINEAR_PROJECTS
    if kind == "projects" and "status {" not in query:  # GraphQL answers only the fields asked for
        nodes = [{k: v for k, v in node.items() if k != "status"} for node in nodes]
    nodes = [node for node in nodes if node["updatedAt"] >= str(variables["since"])[:19]]
    start = int(variables.get("after") or 0)
    chunk = nodes[start : start + 50]
    more = start + 50 < len(nodes)
    info = {"hasNextPage": more, "endCursor": str(start + 50) if more else None}
    return 200, {"data": {kind: {"nodes": chunk, "pageInfo": info}}}, {}


LINEAR_COST = 2_600
"""What the issues query here would cost (50 nodes × (fields + 50 history nodes)), sent as ``X-Complexity``."""


def linear_budget(complexity_left: int, *, reset_in: float = 2.0) -> dict[str, str]:
    """Linear's two leaky buckets as headers on every answer: requests and complexity, resets in epoch ms."""
    reset = str(int((datetime.now(UTC).timestamp() + reset_in) * 1000))
    return {
        "X-RateLimit-Requests-Limit": "5000",
        "X-RateLimit-Requests-Remaining": "4999",
        "X-RateLimit-Requests-Reset": reset,
        "X-Complexity": str(LINEAR_COST),
        "X-RateLimit-Complexity-Limit": "3000000",
        "X-RateLimit-Complexity-Remaining": str(complexity_left),
        "X-RateLimit-Complexity-Reset": reset,
    }


# --- serving -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class TrackerStandIn:
    """All four vendors on one port, told apart by path (``/api/v4``, ``/v2/alerts``, ``/rest``, ``/graphql``)."""

    gitlab: GitLabData = field(default_factory=lambda: GitLabData(130))
    alerts: list[dict[str, Any]] = field(default_factory=lambda: og_alerts(250))
    jira: list[dict[str, Any]] = field(default_factory=lambda: jira_issues(120))
    linear: list[dict[str, Any]] = field(default_factory=lambda: linear_issues(60))
    trouble: Trouble = field(default=lambda _path, _n: None)
    complexity_left: int = 200_000
    """What Linear's complexity budget says is left after each query (below ``LINEAR_COST``: spent)."""
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, params: dict[str, str], body: Any) -> Answer:
        if path.startswith("/api/v4/"):
            status, data, headers = self.gitlab.answer(path, params, self.url)
            reset = str(int(datetime.now(UTC).timestamp()) + 60)
            return (
                status,
                data,
                {**headers, "RateLimit-Limit": "2000", "RateLimit-Remaining": "1999", "RateLimit-Reset": reset},
            )
        if path == "/v2/alerts":
            return og_answer(self.alerts, params, self.url)
        if path.startswith("/rest/"):
            return jira_answer(self.jira, path, params)
        if path == "/graphql":
            status, data, headers = linear_answer(self.linear, body if isinstance(body, dict) else {})
            return status, data, {**linear_budget(self.complexity_left), **headers}
        return 404, {"message": "not found"}, {}


def _handler(stand_in: TrackerStandIn) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:
            self.handle_any(None)

        def do_POST(self) -> None:
            raw = self.raw_body()
            self.handle_any(json.loads(raw) if raw else None)

        def handle_any(self, body: Any) -> None:
            parts = urlsplit(self.path)
            params = {key: values[0] for key, values in parse_qs(parts.query).items()}
            headers = {name.lower(): value for name, value in self.headers.items()}
            with stand_in.lock:
                stand_in.requests.append((parts.path, params, headers))
                n = len(stand_in.requests)
            trouble = stand_in.trouble(parts.path, n)
            if trouble == "429" and parts.path == "/v2/alerts":  # Opsgenie says which bucket, not when
                throttled = {"X-RateLimit-State": "THROTTLED", "X-RateLimit-Reason": "ACCOUNT"}
                body = {"message": "TooManyRequests", "took": 0.001, "requestId": "rId"}
                return self.send(429, body, {**throttled, "X-RateLimit-Period-In-Sec": "1"})
            if trouble == "429":
                return self.send(429, {"message": "Too Many Requests"}, {"Retry-After": "2"})
            if trouble == "500":
                return self.send(500, {"message": "Internal Server Error"}, {})
            if trouble == "ratelimited":
                error = {"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}
                reset = str(int((datetime.now(UTC).timestamp() + 5) * 1000))
                return self.send(
                    400,
                    {"errors": [error]},
                    {"X-RateLimit-Requests-Remaining": "0", "X-RateLimit-Requests-Reset": reset},
                )
            status, data, answer_headers = stand_in.answer(parts.path, params, body)
            if trouble == "complexity":  # Linear: less complexity left than this query cost
                answer_headers = {**answer_headers, **linear_budget(LINEAR_COST // 2)}
            self.send(status, data, answer_headers)

        def send(self, status: int, body: Any, headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


@contextmanager
def serve_trackers(stand_in: TrackerStandIn) -> Iterator[TrackerStandIn]:
    with serving(_handler(stand_in)) as url:
        stand_in.url = url
        yield stand_in
