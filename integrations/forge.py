"""What GitHub and GitLab share past the shapes of their payloads; each forge's module maps its payload
onto these, and the rules live here once:

- a repository: its full path, default branch and service;
- pushed commits → changes: branch, push order, author, and the services a commit belongs to (monorepo path
  prefixes, else the repository's service);
- a merged pull/merge request → its record and the work items it names;
- a CI run (GitHub workflow run, GitLab pipeline) → a deployment, when its name is mapped to an environment.

In a monorepo (a repository with prefixes in FRICTIONLOG_MONOREPO_PATHS) a commit under no mapped prefix
belongs to no service: it is kept as an *unmapped* change (counted, with a warning, by service.ingest.apply),
never credited to a service named after the repository. The commit message itself is not kept: only the
work-item keys it names (and the branch's), as references."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from integrations.config import IntegrationConfig
from integrations.payload import PushCommit
from integrations.work_common import branch_references, commit_references, pull_request_references
from service.core.records import (
    PUSH_ORDER_STRIDE,
    ChangeRecord,
    DeploymentRecord,
    Ignored,
    InboxMeta,
    ParseResult,
    PullRequestRecord,
    Record,
)


@dataclass(frozen=True, slots=True)
class ForgeRepository:
    """A repository as a forge's delivery names it, with the service it maps to."""

    name: str
    """Its full path: ``owner/repo`` (GitHub), ``group/subgroup/project`` (GitLab)."""
    default_branch: str
    service: str


@dataclass(frozen=True, slots=True)
class PushedCommit:
    sha: str
    committed_at: datetime
    author: str | None
    files: list[str]
    message: str = ""


Commit = TypeVar("Commit", bound=PushCommit)


def pushed_commits(commits: Sequence[Commit], author: Callable[[Commit], str | None]) -> list[PushedCommit]:
    """A forge's push commits (``payload.PushCommit``, the shape GitHub's and GitLab's share), each with its
    author as that forge names it, and every file it added, modified or removed."""
    return [PushedCommit(c.id, c.timestamp, author(c), [*c.added, *c.modified, *c.removed], c.message) for c in commits]


def pushed_changes(
    meta: InboxMeta, config: IntegrationConfig, pushed_to: ForgeRepository, ref: str, commits: Sequence[PushedCommit]
) -> list[Record]:
    """The changes of a push to ``ref`` (``refs/heads/<branch>``)."""
    repository, default_branch, default_service = pushed_to.name, pushed_to.default_branch, pushed_to.service
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
                    sha=commit.sha,
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


def merged_request(
    repository: str,
    number: int,
    branch: str,
    landed: str,
    merged_at: datetime,
    opened_at: datetime | None,
    texts: Iterable[str | None],
) -> list[Record]:
    """A merged pull/merge request: its branch's commits shipped as ``landed`` (the merge, squash or rebase
    commit), and references to the work items its title, description or branch name."""
    return [
        PullRequestRecord(
            repository=repository,
            number=number,
            head_branch=branch,
            merge_commit_sha=landed,
            merged_at=merged_at,
            opened_at=opened_at,
        ),
        *pull_request_references(repository, number, texts, branch, merged_at),
    ]


@dataclass(frozen=True, slots=True)
class CIRun:
    """A forge's CI run as a candidate deployment: a GitHub workflow run or a GitLab pipeline."""

    kind: str
    """``workflow run`` or ``pipeline``: how the reasons name it."""
    name: str | None
    external_id: str
    branch: str | None
    sha: str
    outcome: str | Ignored
    """success | failure | cancelled once it has finished; else why it does not count (yet)."""
    started_at: datetime | None
    finished_at: datetime | None
    url: str | None


def ci_environment(config: IntegrationConfig, name: str | None) -> str | None:
    """The environment a CI run's name is mapped to (FRICTIONLOG_WORKFLOW_ENVIRONMENTS); None: not a deploy."""
    return config.workflow_environments.get(name) if name else None


def ci_unmapped(kind: str, name: str | None) -> Ignored:
    """Why a CI run whose name is mapped to no environment is not a deployment (the webhook's and the import's)."""
    return Ignored(f"{kind} {name!r} is not mapped to an environment (FRICTIONLOG_WORKFLOW_ENVIRONMENTS)")


def ci_deployment(config: IntegrationConfig, source: str, repository: ForgeRepository, run: CIRun) -> ParseResult:
    """A CI run counts as a deployment to the environment its name is mapped to, once it has finished with an
    outcome, and only on the repository's default branch."""
    environment = ci_environment(config, run.name)
    if environment is None:
        return ci_unmapped(run.kind, run.name)
    if isinstance(run.outcome, Ignored):
        return run.outcome
    if run.branch != repository.default_branch:
        return Ignored(f"{run.kind} on {run.branch!r}, not the default branch")
    return [
        DeploymentRecord(
            source=source,
            external_id=run.external_id,
            service=repository.service,
            environment=environment,
            status=run.outcome,
            finished_at=run.finished_at,
            started_at=run.started_at,
            sha=run.sha,
            repository=repository.name,
            url=run.url,
        )
    ]
