"""Typed ``make_<thing>()`` factories for generic-form events, and helpers shared by tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from service.core import tokens
from service.core.db import session_scope
from service.core.settings import Settings

T0 = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
"""A Monday noon, UTC: the start of most test stories."""


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def issue_token(settings: Settings, name: str, scopes: Sequence[str]) -> str:
    with session_scope(settings.database_url, write=True) as session:
        _, secret = tokens.create_token(session, name=name, scopes=scopes)
    return secret


def make_deployment(
    id: str = "d-1",  # the field is called id in the schema
    *,
    service: str = "checkout-api",
    environment: str = "production",
    status: str = "success",
    finished_at: datetime = T0,
    commits: Sequence[tuple[str, datetime]] = (),
    **extra: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "deployment",
        "id": id,
        "service": service,
        "environment": environment,
        "status": status,
        "finished_at": iso(finished_at),
        **extra,
    }
    if commits:
        event["commits"] = [{"sha": sha, "timestamp": iso(moment)} for sha, moment in commits]
    return event


def make_incident(
    id: str = "INC-1",
    *,
    service: str = "checkout-api",
    status: str = "triggered",
    started_at: datetime = T0 + timedelta(hours=1),
    **extra: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "incident",
        "id": id,
        "service": service,
        "status": status,
        "started_at": iso(started_at),
    }
    for name, value in extra.items():
        event[name] = iso(value) if isinstance(value, datetime) else value
    return event


def make_change(
    sha: str = "a" * 40,
    *,
    repository: str = "acme/checkout",
    timestamp: datetime = T0 - timedelta(hours=3),
    **extra: Any,
) -> dict[str, Any]:
    return {"type": "change", "sha": sha, "repository": repository, "timestamp": iso(timestamp), **extra}


def sha(n: int) -> str:
    """A distinct, valid 40-hex commit id for an integer."""
    return f"{n:040x}"
