"""What every tracker parser shares: the item's mapped kind, status and service, and incident categories.

The rules live in service/figures/work/mapping.py (configuration: mapping.yaml); service names from outside go
through ``IntegrationConfig.service_for`` here and only here, so the service-name rule can change in one
place.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from integrations.config import IntegrationConfig
from service.core.records import WorkItemReferenceRecord
from service.figures.work.keys import keys_in_branch, keys_in_text


def item_service(config: IntegrationConfig, name: str | None, *, fallback: str | None = None) -> str | None:
    """A tracker's (or CDEvents') service name as our service slug; None stays None. The one call of
    the service-name rule for work items and CDEvents, so it can be swapped in one place."""
    return config.service_for(name, fallback=fallback or name) if name else None


def incident_category(
    config: IntegrationConfig,
    *,
    explicit: str | None = None,
    vendor_services: Iterable[str | None] = (),
    teams: Iterable[str | None] = (),
    title: str | None = None,
    service: str | None = None,
) -> dict[str, Any]:
    """The IncidentRecord fields ``category``, ``category_source`` and ``category_evidence``."""
    category, how, evidence = config.work_mapping.incident_category(
        explicit=explicit,
        vendor_services=[name for name in vendor_services if name],
        teams=[name for name in teams if name],
        title=title,
        service=service,
    )
    return {"category": category, "category_source": how, "category_evidence": evidence}


def commit_references(
    repository: str, sha: str, message: str | None, seen_at: datetime | None
) -> list[WorkItemReferenceRecord]:
    return [
        WorkItemReferenceRecord(key=key, kind="commit", repository=repository, ref=sha, seen_at=seen_at)
        for key in keys_in_text(message, repository=repository)
    ]


def branch_references(repository: str, branch: str, seen_at: datetime | None) -> list[WorkItemReferenceRecord]:
    return [
        WorkItemReferenceRecord(key=key, kind="branch", repository=repository, ref=branch, seen_at=seen_at)
        for key in keys_in_branch(branch)
    ]


def pull_request_references(
    repository: str, number: int, texts: Iterable[str | None], branch: str | None, seen_at: datetime | None
) -> list[WorkItemReferenceRecord]:
    keys = [key for text in texts for key in keys_in_text(text, repository=repository)] + keys_in_branch(branch)
    return [
        WorkItemReferenceRecord(key=key, kind="pull_request", repository=repository, ref=str(number), seen_at=seen_at)
        for key in dict.fromkeys(keys)
    ]
