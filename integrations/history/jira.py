"""Jira Cloud's history through its REST API v3, as the webhook events ``integrations.jira`` parses.

``GET /rest/api/3/search/jql`` (the enhanced JQL search: ``nextPageToken`` until ``isLast``, 100 a page)
for ``project = KEY AND updated >= since``, with ``expand=changelog``; an issue whose changelog has more
entries than the search returned is read whole from ``GET /rest/api/3/issue/{key}/changelog`` (``startAt``
paging; its ``isLast`` is optional, so without it the page is the last when ``startAt`` reaches ``total``).
Every property of the search's answer is optional: no ``issues`` is an empty page, a null or absent
``nextPageToken`` the last. Each issue becomes ``jira:issue_created`` at its creation (with the status it
was created in) and a ``jira:issue_updated`` for every status move in the window (``changelog.items``
with the status moved to), keyed by the issue and the changelog entry, so a re-run is a duplicate.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from integrations import jira as webhook
from integrations.config import IntegrationConfig
from integrations.history.checkpoint import Window
from integrations.history.client import ApiClient, Credential, ImportFailed
from integrations.history.paging import as_object, token_next
from integrations.history.runner import Batch, Scope, delivery
from integrations.history.scope import VendorScope
from integrations.payload import vendor_time

SOURCE = webhook.SOURCE
LIMIT = 100
FIELDS = "summary,issuetype,project,status,labels,components,parent,created,updated"
NEEDS = "an API token of a user who can browse the projects (scope `read:jira-work` for a scoped token)"


def credential(email: str, token: str) -> Credential:
    pair = base64.b64encode(f"{email}:{token}".encode()).decode()
    return Credential(
        {"Authorization": f"Basic {pair}"}, "FRICTIONLOG_JIRA_EMAIL and FRICTIONLOG_JIRA_API_TOKEN", NEEDS
    )


def _ms(value: Any) -> int | None:
    try:
        return int(vendor_time(value).timestamp() * 1000)
    except ValueError:
        return None


def _in(window: Window, moment: int | None) -> bool:
    return moment is not None and window.since.timestamp() * 1000 <= moment < window.until.timestamp() * 1000


def status_moves(histories: list[Any]) -> list[tuple[str, int, dict[str, Any]]]:
    """(history id, epoch ms, the status item) of every status move, oldest first."""
    moves = []
    for history in histories:
        at = _ms(as_object(history).get("created"))
        for item in as_object(history).get("items") or []:
            if as_object(item).get("field") == "status" and at is not None:
                moves.append((str(history.get("id")), at, item))
    return sorted(moves, key=lambda move: move[1])


def issue_events(
    issue: dict[str, Any], histories: list[Any], window: Window, known: dict[str, Any] | None = None
) -> list[Any]:
    """The issue's webhook events in the window, as inbox deliveries. A changelog names only the status;
    its category (which decides started and done) comes from ``known``: the statuses the page's issues
    stand in now, with their categories."""
    known = known or {}
    fields = as_object(issue.get("fields"))
    current = as_object(fields.get("status"))
    moves = status_moves(histories)
    out = []
    created = _ms(fields.get("created"))
    if _in(window, created):
        first = moves[0][2].get("fromString") if moves else None
        status = known.get(first, {"name": first}) if first else current
        body = {
            "webhookEvent": "jira:issue_created",
            "timestamp": created,
            "issue": {**issue, "fields": {**fields, "status": status}},
        }
        out.append(delivery(SOURCE, "jira:issue_created", body, f"jira:{issue['key']}:created"))
    for index, (history_id, at, item) in enumerate(moves):
        if not _in(window, at):
            continue
        moved_to = str(item.get("toString") or "")
        last = index == len(moves) - 1 and moved_to == current.get("name")
        status = current if last else known.get(moved_to, {"name": moved_to})
        body = {
            "webhookEvent": "jira:issue_updated",
            "timestamp": at,
            "issue": {**issue, "fields": {**fields, "status": status}},
            "changelog": {"id": history_id, "items": [item]},
        }
        out.append(delivery(SOURCE, "jira:issue_updated", body, f"jira:{issue['key']}:{history_id}"))
    return out


@dataclass(slots=True)
class ProjectScope(VendorScope):
    project: str
    source = SOURCE
    key_format = "{project}:issues"

    def fetch(self, client: ApiClient, cursor: str | None, window: Window, /) -> Batch:
        since = window.since.strftime("%Y-%m-%d %H:%M")
        params: dict[str, str | int] = {
            "jql": f'project = "{self.project}" AND updated >= "{since}" ORDER BY created ASC',
            "maxResults": LIMIT,
            "fields": FIELDS,
            "expand": "changelog",
        }
        if cursor:
            params["nextPageToken"] = cursor
        page = client.get("/rest/api/3/search/jql", params, scope=self.key)
        issues = as_object(page.data).get("issues", [])  # optional: absent when nothing matched
        if not isinstance(issues, list):
            raise ImportFailed(f"{self.key}: the answer's issues are not a list")
        out, skipped = [], []
        known = {}
        for issue in issues:
            status = as_object(as_object(as_object(issue).get("fields")).get("status"))
            if status.get("name") and status.get("statusCategory"):
                known[str(status["name"])] = status
        for issue in issues:
            if not isinstance(issue, dict) or not issue.get("key") or not isinstance(issue.get("fields"), dict):
                skipped.append("issue without a key or fields")
                continue
            out.extend(issue_events(issue, self._histories(client, issue), window, known))
        return Batch(out, token_next(page.data), skipped)

    def _histories(self, client: ApiClient, issue: dict[str, Any]) -> list[Any]:
        changelog = as_object(issue.get("changelog"))
        histories = list(changelog.get("histories") or [])
        if int(changelog.get("total") or 0) <= len(histories):
            return histories
        histories, start = [], 0
        while True:
            params: dict[str, str | int] = {"startAt": start, "maxResults": LIMIT}
            data = as_object(client.get(f"/rest/api/3/issue/{issue['key']}/changelog", params, scope=self.key).data)
            values = list(data.get("values") or [])
            histories.extend(values)
            start += len(values)
            last = data.get("isLast")  # optional in PageBeanChangelog: then startAt + values against total
            if not values or (last if isinstance(last, bool) else start >= int(data.get("total") or 0)):
                return histories


def scopes(projects: list[str], config: IntegrationConfig) -> list[Scope]:
    return [ProjectScope(project.upper(), config=config) for project in projects]
