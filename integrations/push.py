"""Pushed commits → changes, the same for every forge: branch, push order, author, and the services a
commit belongs to (monorepo path prefixes, else the repository's service).

In a monorepo (a repository with prefixes in FRICTIONLOG_MONOREPO_PATHS) a commit under no mapped prefix
belongs to no service: it is kept as an *unmapped* change (counted, with a warning, by service.ingest.apply),
never credited to a service named after the repository. The commit message itself is not kept: only the
work-item keys it names (and the branch's), as references."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from integrations.config import IntegrationConfig
from integrations.payload import PushCommit
from integrations.work_common import branch_references, commit_references
from service.core.records import PUSH_ORDER_STRIDE, ChangeRecord, InboxMeta, Record


@dataclass(frozen=True, slots=True)
class PushedCommit:
    sha: str
    committed_at: datetime
    author: str | None
    files: list[str]
    message: str = ""


Commit = TypeVar("Commit", bound=PushCommit)


def forge_commits(commits: Sequence[Commit], author: Callable[[Commit], str | None]) -> list[PushedCommit]:
    """A forge's push commits (``payload.PushCommit``, the shape GitHub's and GitLab's share), each with its
    author as that forge names it, and every file it added, modified or removed."""
    return [PushedCommit(c.id, c.timestamp, author(c), [*c.added, *c.modified, *c.removed], c.message) for c in commits]


def pushed_changes(
    meta: InboxMeta,
    config: IntegrationConfig,
    *,
    repository: str,
    ref: str,
    default_branch: str,
    default_service: str,
    commits: Sequence[PushedCommit],
) -> list[Record]:
    """The changes of a push to ``ref`` (``refs/heads/<branch>``)."""
    branch = ref.removeprefix("refs/heads/")
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
