"""What the services pages show, as pure functions of the catalogue and the digest's content.

Before/after per service is the digest's (``service.effects.own``): the up-to-8 complete weeks before the
week it moved against the up-to-8 complete weeks from its first whole week on the new platform (a week it
moved in mid-week is left out; the current, unfinished week never counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.core import vocab
from service.digest.models import DigestContent

METRICS = tuple(vocab.metric(key) for key in ("deploys", "lead_time", "change_failure_rate", "incidents"))
"""The metrics the services table shows before → after, each as ``service.core.vocab`` defines it."""


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    slug: str
    team: str | None
    tier: str | None
    platform: str | None
    moved_at: datetime | None


def changes_from_digest(content: DigestContent | None) -> dict[str, dict[str, dict[str, float | None]]]:
    """service → metric → {before, after, relative}: each moved service against itself, as the digest's
    migration section states it (``per_service``, ``service.effects.own``: one definition, one computation).
    Nothing without a digest or a migration."""
    wanted = {m.key for m in METRICS}
    changes: dict[str, dict[str, dict[str, float | None]]] = {}
    if content is None or content.migration is None:
        return changes
    for item in content.migration.before_after:
        if item.metric not in wanted:
            continue
        for row in item.per_service:
            side = {"before": row.before, "after": row.after, "relative": row.relative}
            changes.setdefault(row.service, {})[item.metric] = side
    return changes


def service_rows(
    facts: list[ServiceFacts], changes: dict[str, dict[str, dict[str, float | None]]]
) -> list[dict[str, Any]]:
    return [{"facts": f, "change": changes.get(f.slug) if f.moved_at is not None else None} for f in facts]


SORTS = {"service", "team", "platform", "moved", *(m.key for m in METRICS)}


def sort_rows(rows: list[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    """Sort by a column; rows without a value go last either way."""

    def value(row: dict[str, Any]) -> Any:
        facts: ServiceFacts = row["facts"]
        if key == "service":
            return facts.slug
        if key in ("team", "platform"):
            return getattr(facts, key)
        if key == "moved":
            return facts.moved_at
        change = row["change"]
        return None if change is None or key not in change else change[key]["relative"]

    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    return sorted(present, key=value, reverse=descending) + missing


def filter_rows(rows: list[dict[str, Any]], *, team: str | None, platform: str | None, q: str | None) -> list[Any]:
    out = []
    for row in rows:
        facts: ServiceFacts = row["facts"]
        if team and facts.team != team:
            continue
        if platform and facts.platform != platform:
            continue
        if q and q.lower() not in facts.slug.lower():
            continue
        out.append(row)
    return out
