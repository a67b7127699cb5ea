"""The vendors' pagination styles as pure functions: an answer → where the next page is (None: the last).

A cursor is always a string, so a checkpoint can store it as it is: a URL (GitHub's and GitLab's
``Link``), a page number (GitLab's ``X-Next-Page``), an offset (PagerDuty, Opsgenie), a token (Jira's
``nextPageToken``) or a GraphQL ``endCursor`` (Linear)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

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
