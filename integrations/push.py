"""Pushed commits → changes, the same for every forge: branch, push order, author, and the services a
commit belongs to (monorepo path prefixes, else the repository's service).

In a monorepo (a repository with prefixes in FRICTIONLOG_MONOREPO_PATHS) a commit under no mapped prefix
belongs to no service: it is kept as an *unmapped* change (counted, with a warning, by service.ingest.apply),
never credited to a service named after the repository. The commit message itself is not kept: only the
work-item keys it names (and the branch's), as references."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from integrations.config import IntegrationConfig
from integrations.work_common import branch_references, commit_references
from service.core.records import PUSH_ORDER_STRIDE, ChangeRecord, InboxMeta, Record


@dataclass(frozen=True, slots=True)
class PushedCommit:
    sha: str
    committed_at: datetime
    author: str | None
    files: list[str]
    message: str = ""


def pushed_changes(
    meta: InboxMeta,
    config: IntegrationConfig,
    *,
    repository: str,
    branch: str,
    default_branch: str,
    default_service: str,
    commits: Sequence[PushedCommit],
) -> list[Record]:
    records: list[Record] = []
    monorepo = config.is_monorepo(repository)
    for index, commit in enumerate(commits):
        mapped = config.services_for_paths(repository, commit.files)
        services: list[str | None] = [default_service]
        if monorepo or mapped:
            services = [*sorted(mapped)] or [None]
        for service in services:
            records.append(
                ChangeRecord(
                    sha=commit.sha.lower(),
                    repository=repository,
                    committed_at=commit.committed_at,
                    service=service,
                    unmapped=service is None,
                    branch=branch,
                    push_order=meta.id * PUSH_ORDER_STRIDE + index,
                    author=commit.author,
                    on_default_branch=branch == default_branch,
                )
            )
        records.extend(commit_references(repository, commit.sha, commit.message, commit.committed_at))
    if commits and branch != default_branch:
        records.extend(branch_references(repository, branch, commits[-1].committed_at))
    return records
