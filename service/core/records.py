"""Canonical records: what every integration's parser turns a payload into, whatever the sender."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from service.core.vocab import DeploymentStatus, IncidentStatus

PUSH_ORDER_STRIDE = 10_000
"""push_order = inbox row id × stride + index in the push; a push holds at most 2,048 commits (GitHub)."""

DEPLOYMENT_STATUSES = tuple(DeploymentStatus)
INCIDENT_STATUSES = tuple(IncidentStatus)


def _commit(record: object, field_name: str, sha: str | None) -> None:
    """A commit sha is stored lower-case, whoever sent it (``ABC123`` from one sender and ``abc123`` from
    another are one commit, one row). Records set it here, so no parser has to remember."""
    if sha and not sha.islower():
        object.__setattr__(record, field_name, sha.lower())


def _optional_commit(record: object, field_name: str, sha: str | None) -> None:
    """:func:`_commit` for a sha a record may lack: an empty one (a CI variable left unset) is none, so it
    never overwrites a sha an earlier delivery gave."""
    if sha == "":
        object.__setattr__(record, field_name, None)
    _commit(record, field_name, sha)


@dataclass(frozen=True, slots=True)
class CommitRef:
    sha: str
    committed_at: datetime

    def __post_init__(self) -> None:
        _commit(self, "sha", self.sha)


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """A commit. Commits pushed to a branch carry their branch and their place in push order, which is
    how a deployed sha is known to contain them (no git history needed)."""

    sha: str
    repository: str
    committed_at: datetime
    service: str | None = None
    pr_number: int | None = None
    merged_at: datetime | None = None
    branch: str | None = None
    push_order: int | None = None
    """Increases with every commit pushed to the repository: (inbox row id, index in the push)."""
    author: str | None = None
    on_default_branch: bool = False
    unmapped: bool = False
    """A monorepo commit under none of its mapped path prefixes: counted, never given a service."""

    def __post_init__(self) -> None:
        _commit(self, "sha", self.sha)


@dataclass(frozen=True, slots=True)
class PullRequestRecord:
    """A merged pull/merge request: its branch's commits shipped as ``merge_commit_sha`` (squash/rebase too)."""

    repository: str
    number: int
    head_branch: str
    merge_commit_sha: str
    merged_at: datetime
    opened_at: datetime | None = None
    """When the request was opened (GitHub ``created_at``); None when the delivery does not say: the lead
    time's review stage then has no start for it (docs/metrics.md, "Lead time by stage")."""

    def __post_init__(self) -> None:
        _commit(self, "merge_commit_sha", self.merge_commit_sha)


@dataclass(frozen=True, slots=True)
class SourcedRecord:
    """A record a sender identifies: by (source, external_id), its natural key; a later record for the same
    key updates (or merges into) the row."""

    source: str
    external_id: str


@dataclass(frozen=True, slots=True)
class DeploymentRecord(SourcedRecord):
    """A deployment; a later record for the same id updates the row."""

    service: str
    environment: str
    status: str
    finished_at: datetime | None
    started_at: datetime | None = None
    sha: str | None = None
    repository: str | None = None
    version: str | None = None
    commits: tuple[CommitRef, ...] = field(default_factory=tuple)
    platform: str | None = None
    rollback_of: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        _optional_commit(self, "sha", self.sha)


@dataclass(frozen=True, slots=True)
class IncidentRecord(SourcedRecord):
    """An incident: its triggered, acknowledged and resolved events merge into one row."""

    service: str
    status: str
    started_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    severity: str | None = None
    title: str | None = None
    caused_by_deployment: str | None = None
    commit_sha: str | None = None
    url: str | None = None
    category: str | None = None
    """``infrastructure`` | ``application`` | ``unknown``, decided by service.figures.work.mapping.classify_incident."""
    category_source: str | None = None
    """How: ``explicit`` (the sender said), ``service_map``, ``team_map``, ``rule``; None when undecided."""
    category_evidence: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _optional_commit(self, "commit_sha", self.commit_sha)


@dataclass(frozen=True, slots=True)
class WorkItemRecord:
    """A tracker item (Jira issue, Linear issue or project, GitHub issue, CDEvents ticket, generic form),
    identified by (source, key). ``status`` is already mapped to open | in_progress | done | cancelled;
    each record is also one point of its status history at ``changed_at``."""

    source: str
    key: str
    kind: str
    """feature | bug | support | task (service/figures/work/mapping.yaml decides for vendor items)."""
    status: str
    changed_at: datetime
    raw_status: str | None = None
    title: str | None = None
    service: str | None = None
    team: str | None = None
    labels: tuple[str, ...] = ()
    created_at: datetime | None = None
    parent: str | None = None
    url: str | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class WorkItemStatusRecord:
    """A status history point alone, for a sender that names the item only by an alias: GitHub's
    project (v2) item events name the issue by node id (``key = "node:<id>"``), which the issue's own
    events tie to its key with a ``node`` reference; reads follow that alias."""

    source: str
    key: str
    status: str
    changed_at: datetime
    raw_status: str | None = None


@dataclass(frozen=True, slots=True)
class WorkItemReferenceRecord:
    """A change, pull request, branch or deployment that names a work item by its key.

    ``kind`` is ``commit`` (ref = sha), ``pull_request`` (ref = number), ``branch`` (ref = branch name)
    or ``deployment`` (repository = deployment source, ref = its external id)."""

    key: str
    kind: str
    repository: str
    ref: str
    seen_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.kind == "commit":
            _commit(self, "ref", self.ref)


@dataclass(frozen=True, slots=True)
class FrictionRecord:
    """A friction report. ``report_id`` is its inbox row's id: the number the reporter is told at once."""

    report_id: int
    source: str
    text: str
    created_at: datetime
    reporter: str | None = None
    """A Slack user id Slack itself sent (slash command, modal, shortcut); None when anonymous or filed
    over the API. The only identity the bot may DM."""
    contact: str | None = None
    """Who filed it over the API, as the caller claimed (a token's claim, never a destination)."""
    service: str | None = None
    minutes_lost: int | None = None
    impact: int | None = None
    frequency: str | None = None
    blocking: bool = False
    slack_channel: str | None = None
    permalink: str | None = None


@dataclass(frozen=True, slots=True)
class CostRecord(SourcedRecord):
    """Spend over a period. ``service`` None is unallocated."""

    service: str | None
    period_start: datetime
    period_end: datetime
    amount: float
    """In ``currency``; credits and refunds are negative."""
    currency: str
    platform: str | None = None
    category: str | None = None
    resource: str | None = None


@dataclass(frozen=True, slots=True)
class MeasurementRecord(SourcedRecord):
    """A named value over a period (start = end for an instant)."""

    service: str | None
    metric: str
    value: float
    period_start: datetime
    period_end: datetime
    platform: str | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class InboxMeta:
    """What a parser may know of the inbox row besides its body. Not its headers: the edge has read what
    any parser needs of them (the event type, the delivery id) into the row's own columns, so the worker
    does not load and decode them for every row (they stay stored, for audit and replay)."""

    id: int
    event_type: str
    delivery_key: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Ignored:
    """A well-formed delivery we have no use for (a ping, an event type we do not track)."""

    reason: str


Record = (
    ChangeRecord
    | PullRequestRecord
    | DeploymentRecord
    | IncidentRecord
    | FrictionRecord
    | CostRecord
    | MeasurementRecord
    | WorkItemRecord
    | WorkItemStatusRecord
    | WorkItemReferenceRecord
)
ParseResult = list[Record] | Ignored
