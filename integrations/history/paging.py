"""The vendors' pagination styles as pure functions: an answer → where the next page is (None: the last).

A cursor is always a string, so a checkpoint can store it as it is: a URL (GitHub's and GitLab's
``Link``), a page number (GitLab's ``X-Next-Page``), an offset (PagerDuty, Opsgenie), a token (Jira's
``nextPageToken``) or a GraphQL ``endCursor`` (Linear)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from integrations.history.checkpoint import Window

_LINK = re.compile(r"<([^>]+)>\s*;\s*rel=\"?([^\";]+)\"?")


def link_next(headers: Mapping[str, str]) -> str | None:
    """RFC 8288 ``Link: <url>; rel="next"`` (GitHub, GitLab's keyset pagination)."""
    for url, rels in _LINK.findall(headers.get("link", "")):
        if "next" in rels.split():
            return str(url)
    return None


def next_page_header(headers: Mapping[str, str]) -> str | None:
    """GitLab's offset pagination: ``X-Next-Page`` (empty on the last page)."""
    value = headers.get("x-next-page", "").strip()
    return value or None


def offset_more(data: Any, offset: int, key: str = "more") -> int | None:
    """PagerDuty: ``{"more": true, "offset": …, "limit": …}``; the next offset, or None."""
    if isinstance(data, dict) and data.get(key) is True:
        limit = int(data.get("limit") or 0)
        items = next((v for v in data.values() if isinstance(v, list)), [])
        return offset + (limit or len(items))
    return None


def token_next(data: Any, key: str = "nextPageToken") -> str | None:
    """Jira's enhanced search: ``nextPageToken`` until ``isLast``."""
    if not isinstance(data, dict) or data.get("isLast") is True:
        return None
    value = data.get(key)
    return str(value) if value else None


def graphql_next(connection: Any) -> str | None:
    """Relay's ``pageInfo { hasNextPage endCursor }`` (Linear)."""
    info = connection.get("pageInfo") if isinstance(connection, dict) else None
    if isinstance(info, dict) and info.get("hasNextPage") and info.get("endCursor"):
        return str(info["endCursor"])
    return None


def as_object(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one where the vendor sent null or something else."""
    return value if isinstance(value, dict) else {}


def windows(window: Window, longest: timedelta) -> list[Window]:
    """[since, until) cut into ranges of at most ``longest``, oldest first (a vendor that caps a query's range:
    PagerDuty, Opsgenie)."""
    cut, start = [], window.since
    while start < window.until:
        end = min(start + longest, window.until)
        cut.append(Window(start, end))
        start = end
    return cut


def window_state(cursor: str | None) -> dict[str, Any]:
    """A cursor over ranges each paged by offset: which range (``window``) and the offset in it."""
    state: dict[str, Any] = json.loads(cursor) if cursor else {"window": 0, "offset": 0}
    return state


def next_window(state: dict[str, Any], ranges: list[Window]) -> dict[str, Any] | None:
    """The first page of the next range, or None after the last."""
    return {"window": state["window"] + 1, "offset": 0} if state["window"] + 1 < len(ranges) else None


def state_cursor(state: dict[str, Any] | None) -> str | None:
    return json.dumps(state) if state else None
