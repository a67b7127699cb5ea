"""Linear's history through its GraphQL API, as the webhook events ``integrations.linear`` parses.

Two scopes per team, 50 nodes a page with ``pageInfo { hasNextPage endCursor }``: ``issues`` (updated since
the window's start, each with its state history) and ``projects``. An issue becomes ``Issue.create`` at its
creation (in the state it was created in) and an ``Issue.update`` at every state move in the window; a
project one ``Project.update`` as it stands (its ``status``, read beside ``state``, which the schema marks
deprecated). Linear's limits, both read by the client: the request budget (``X-RateLimit-Requests-*``; a
``RATELIMITED`` error waits for the reset) and the complexity budget (``X-RateLimit-Complexity-*``), the
latter kept low by 50 nodes a page and 50 history entries an issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integrations import linear as webhook
from integrations.config import IntegrationConfig
from integrations.history.checkpoint import Window
from integrations.history.client import ApiClient, Credential, ImportFailed
from integrations.history.paging import as_object, graphql_next
from integrations.history.runner import Batch, Scope, delivery
from integrations.history.scope import VendorScope
from integrations.payload import vendor_time

SOURCE = webhook.SOURCE
NEEDS = "a personal API key (Settings → API) of a member of the team, with read access"

ISSUES = """
query Issues($team: String!, $since: DateTimeOrDuration!, $after: String) {
  issues(first: 50, after: $after, orderBy: updatedAt,
         filter: {team: {key: {eq: $team}}, updatedAt: {gte: $since}}) {
    nodes {
      id identifier number title url createdAt updatedAt
      state { name type }
      team { key name }
      labels { nodes { name } }
      parent { id identifier }
      project { id }
      history(first: 50) { nodes { id createdAt fromState { name type } toState { name type } } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""
PROJECTS = """
query Projects($team: String!, $since: DateTimeOrDuration!, $after: String) {
  projects(first: 50, after: $after,
           filter: {accessibleTeams: {some: {key: {eq: $team}}}, updatedAt: {gte: $since}}) {
    nodes { id name state status { name type } url createdAt updatedAt }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def credential(key: str) -> Credential:
    return Credential({"Authorization": key}, "FRICTIONLOG_LINEAR_API_KEY", NEEDS)


def _in(window: Window, value: Any) -> bool:
    try:
        moment = vendor_time(value)
    except ValueError:
        return False
    return window.since <= moment < window.until


def issue_events(node: dict[str, Any], window: Window) -> list[Any]:
    moves = sorted(
        (as_object(h) for h in as_object(node.get("history")).get("nodes") or [] if as_object(h).get("toState")),
        key=lambda h: str(h.get("createdAt")),
    )
    data = {
        **{k: v for k, v in node.items() if k not in ("history", "labels", "project")},
        "labels": as_object(node.get("labels")).get("nodes") or [],
        "projectId": as_object(node.get("project")).get("id"),
    }
    out = []
    if _in(window, node.get("createdAt")):
        state = moves[0].get("fromState") if moves and moves[0].get("fromState") else node.get("state")
        body = {"action": "create", "type": "Issue", "createdAt": node["createdAt"], "data": {**data, "state": state}}
        out.append(delivery(SOURCE, "Issue.create", body, f"linear:{node['id']}:create"))
    for move in moves:
        if _in(window, move.get("createdAt")):
            body = {
                "action": "update",
                "type": "Issue",
                "createdAt": move["createdAt"],
                "data": {**data, "state": move["toState"]},
            }
            out.append(delivery(SOURCE, "Issue.update", body, f"linear:{node['id']}:{move.get('id')}"))
    return out


@dataclass(slots=True)
class TeamScope(VendorScope):
    team: str
    kind: str
    source = SOURCE
    key_format = "{team}:{kind}"

    def fetch(self, client: ApiClient, cursor: str | None, window: Window, /) -> Batch:
        query = ISSUES if self.kind == "issues" else PROJECTS
        variables = {"team": self.team, "since": window.since.isoformat(), "after": cursor}
        answer = as_object(client.post("", {"query": query, "variables": variables}, scope=self.key).data)
        connection = as_object(answer.get("data")).get(self.kind)
        if answer.get("errors") or not isinstance(connection, dict):
            messages = "; ".join(str(as_object(e).get("message")) for e in answer.get("errors") or [])
            raise ImportFailed(f"{self.key}: the GraphQL answer has errors: {messages or 'no data'}"[:500])
        out, skipped = [], []
        for node in connection.get("nodes") or []:
            if not isinstance(node, dict) or not node.get("id") or not node.get("createdAt"):
                skipped.append(f"{self.kind[:-1]} without an id or a creation time")
                continue
            if self.kind == "issues":
                out.extend(issue_events(node, window))
            elif _in(window, node.get("updatedAt")):
                body = {"action": "update", "type": "Project", "createdAt": node.get("updatedAt"), "data": node}
                out.append(delivery(SOURCE, "Project.update", body))
        return Batch(out, graphql_next(connection), skipped)


def scopes(teams: list[str], config: IntegrationConfig) -> list[Scope]:
    return [TeamScope(team.upper(), kind, config=config) for team in teams for kind in ("issues", "projects")]
