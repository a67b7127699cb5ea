"""The generic JSON form: any CI/CD or incident tool can post deployments, incidents and changes.

The schema is documented in docs/webhooks.md. Parsing is pure: JSON value in, canonical records out,
or InvalidInput naming the field.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from integrations.payload import first_error
from service.errors import InvalidInput
from service.identity import ServiceName, repository_service
from service.inbox import Delivery, content_key
from service.records import (
    ChangeRecord,
    CommitRef,
    DeploymentRecord,
    IncidentRecord,
    ParseResult,
)
from service.timeutil import parse_timestamp
from service.vocab import DeploymentStatus, IncidentStatus

SOURCE = "generic"
MAX_BATCH = 500

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
Sha = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9a-fA-F]{7,64}$")]
Url = Annotated[str, StringConstraints(max_length=1024)]


def _timestamp(value: Any) -> datetime:
    try:
        return parse_timestamp(value, field="timestamp")
    except InvalidInput as exc:  # pydantic adds the field's location to a ValueError
        raise ValueError(exc.message.removeprefix("timestamp ")) from None


Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    delivery_id: Text | None = None
    """The sender's own delivery id; when absent the delivery key is a hash of the body."""


class CommitIn(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    sha: Sha
    timestamp: Timestamp


class DeploymentIn(_Event):
    type: Literal["deployment"]
    id: Text
    service: ServiceName
    environment: Text
    status: DeploymentStatus
    finished_at: Timestamp | None = None
    started_at: Timestamp | None = None
    commit_sha: Sha | None = None
    repository: Text | None = None
    version: Text | None = None
    commits: list[CommitIn] = Field(default_factory=list, max_length=1000)
    platform: Text | None = None
    rollback_of: Text | None = None
    url: Url | None = None


class IncidentIn(_Event):
    type: Literal["incident"]
    id: Text
    service: ServiceName
    status: IncidentStatus
    started_at: Timestamp
    acknowledged_at: Timestamp | None = None
    resolved_at: Timestamp | None = None
    severity: Text | None = None
    title: Annotated[str, StringConstraints(max_length=1000)] | None = None
    caused_by_deployment: Text | None = None
    commit_sha: Sha | None = None
    url: Url | None = None


class ChangeIn(_Event):
    type: Literal["change"]
    sha: Sha
    repository: Text
    service: ServiceName | None = None
    timestamp: Timestamp
    pr_number: int | None = Field(default=None, ge=1, le=2_147_483_647)
    merged_at: Timestamp | None = None


GenericEvent = Annotated[DeploymentIn | IncidentIn | ChangeIn, Field(discriminator="type")]


class _Envelope(BaseModel):
    event: GenericEvent


_GIT_URL = re.compile(r"^(?:[a-z+]+://[^/]+/|[^@/]+@[^:]+:)(?P<path>.+?)(?:\.git)?/?$")


def normalise_repository(name: str | None) -> str | None:
    """``https://github.com/acme/ledger.git`` and ``git@github.com:acme/ledger.git`` → ``acme/ledger``, the
    form GitHub and GitLab use, so deployments from Argo CD meet the pushes they ship."""
    if not name:
        return name
    match = _GIT_URL.match(name.strip())
    return match.group("path") if match else name.strip()


def validate(value: Any) -> DeploymentIn | IncidentIn | ChangeIn:
    """Check one generic event; InvalidInput names the first bad field (``finished_at``, ``commits.0.sha``)."""
    if not isinstance(value, dict):
        raise InvalidInput("each event must be a JSON object", field=None)
    if value.get("type") not in ("deployment", "incident", "change"):
        raise InvalidInput("type must be one of deployment, incident, change", field="type")
    try:
        return _Envelope.model_validate({"event": value}).event
    except ValidationError as exc:
        raise first_error(exc, skip=2) from None  # drop ("event", "<type>") from the location


def parse(value: Any) -> ParseResult:
    """Records for one generic event (the same checks the API ran at the edge)."""
    event = validate(value)
    if isinstance(event, DeploymentIn):
        if event.status != DeploymentStatus.IN_PROGRESS and event.finished_at is None:
            raise InvalidInput("finished_at is required unless status is in_progress", field="finished_at")
        return [
            DeploymentRecord(
                source=SOURCE,
                external_id=event.id,
                service=event.service,
                environment=event.environment,
                status=event.status,
                finished_at=event.finished_at,
                started_at=event.started_at,
                sha=event.commit_sha.lower() if event.commit_sha else None,
                repository=normalise_repository(event.repository),
                version=event.version,
                commits=tuple(CommitRef(sha=c.sha.lower(), committed_at=c.timestamp) for c in event.commits),
                platform=event.platform,
                rollback_of=event.rollback_of,
                url=event.url,
            )
        ]
    if isinstance(event, IncidentIn):
        return [
            IncidentRecord(
                source=SOURCE,
                external_id=event.id,
                service=event.service,
                status=event.status,
                started_at=event.started_at,
                acknowledged_at=event.acknowledged_at,
                resolved_at=event.resolved_at,
                severity=event.severity,
                title=event.title,
                caused_by_deployment=event.caused_by_deployment,
                commit_sha=event.commit_sha.lower() if event.commit_sha else None,
                url=event.url,
            )
        ]
    repository = normalise_repository(event.repository) or event.repository
    return [
        ChangeRecord(
            sha=event.sha.lower(),
            repository=repository,
            service=event.service or repository_service(repository),
            committed_at=event.timestamp,
            pr_number=event.pr_number,
            merged_at=event.merged_at,
        )
    ]


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def deliveries(value: Any, *, headers: dict[str, str]) -> list[Delivery]:
    """Validate a request body (one event or an array of up to 500) into inbox deliveries.

    Every event is checked before any is stored, so a batch is all-or-nothing; the field of an error
    in a batch is prefixed with the event's index (``3.finished_at``).
    """
    is_batch = isinstance(value, list)
    events = value if is_batch else [value]
    if is_batch and not events:
        raise InvalidInput("an array of events must not be empty")
    if len(events) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} events per request; got {len(events)}")
    result: list[Delivery] = []
    for index, item in enumerate(events):
        try:
            parse(item)
            event = validate(item)
        except InvalidInput as exc:
            if not is_batch:
                raise
            field = f"{index}.{exc.field}" if exc.field else str(index)
            raise InvalidInput(f"event {index}: {exc.message}", field=field) from None
        body = canonical_json(item)
        key = event.delivery_id or content_key(SOURCE, event.type, body.encode())
        result.append(Delivery(source=SOURCE, event_type=event.type, delivery_key=key, body=body, headers=headers))
    return result
