"""The generic JSON form: any CI/CD or incident tool can post deployments, incidents and changes.

The schema is documented in docs/webhooks.md. Parsing is pure: JSON value in, canonical records out,
or InvalidInput naming the field.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from integrations.config import IntegrationConfig
from integrations.payload import first_error
from integrations.work_common import incident_category
from service.core.errors import InvalidInput
from service.core.identity import ServiceName, repository_service
from service.core.records import (
    ChangeRecord,
    CommitRef,
    CostRecord,
    DeploymentRecord,
    IncidentRecord,
    MeasurementRecord,
    ParseResult,
    Record,
    WorkItemRecord,
    WorkItemReferenceRecord,
)
from service.core.timeutil import parse_timestamp, quick_timestamp
from service.core.vocab import DeploymentStatus, IncidentStatus, measurement_problem
from service.figures.cost.currency import Currencies
from service.ingest.inbox import Delivery, content_key

SOURCE = "generic"
MAX_BATCH = 500

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
Sha = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9a-fA-F]{7,64}$")]
Url = Annotated[str, StringConstraints(max_length=1024)]


def _timestamp(value: Any) -> datetime:
    if type(value) is str and (quick := quick_timestamp(value)) is not None:
        return quick  # what parse_timestamp answers first, without the calls in between (dozens per deployment)
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
    work_items: list[Text] = Field(default_factory=list, max_length=1000)
    """Keys of the work items this deployment ships (issue 15)."""


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
    category: Literal["infrastructure", "application", "unknown"] | None = None


class ChangeIn(_Event):
    type: Literal["change"]
    sha: Sha
    repository: Text
    service: ServiceName | None = None
    timestamp: Timestamp
    pr_number: int | None = Field(default=None, ge=1, le=2_147_483_647)
    merged_at: Timestamp | None = None


Currency = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$")]
MetricName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class CostIn(_Event):
    """Spend over a period; ``service`` null is unallocated spend (kept, reported as a share)."""

    type: Literal["cost"]
    id: Text
    service: ServiceName | None
    period_start: Timestamp
    period_end: Timestamp
    amount: float = Field(allow_inf_nan=False)
    currency: Currency
    platform: Text | None = None
    category: Text | None = None
    resource: Annotated[str, StringConstraints(max_length=512)] | None = None


class MeasurementIn(_Event):
    """A named value of a service at an instant (``at``) or over a period; unknown metric names are kept."""

    type: Literal["measurement"]
    id: Text
    service: ServiceName | None
    metric: MetricName
    value: float = Field(allow_inf_nan=False)
    at: Timestamp | None = None
    period_start: Timestamp | None = None
    period_end: Timestamp | None = None
    platform: Text | None = None
    unit: Annotated[str, StringConstraints(max_length=32)] | None = None


class WorkItemIn(_Event):
    """A tracker item in our own terms (issue 15): ``id`` is its stable key (``PROJ-123``)."""

    type: Literal["work_item"]
    id: Text
    kind: Literal["feature", "bug", "support", "task"]
    status: Literal["open", "in_progress", "done", "cancelled"]
    changed_at: Timestamp
    title: Annotated[str, StringConstraints(max_length=1000)] | None = None
    service: ServiceName | None = None
    team: Text | None = None
    labels: list[Text] = Field(default_factory=list, max_length=100)
    created_at: Timestamp | None = None
    parent: Text | None = None
    url: Url | None = None


GenericEvent = Annotated[
    DeploymentIn | IncidentIn | ChangeIn | CostIn | MeasurementIn | WorkItemIn, Field(discriminator="type")
]
TYPES = ("deployment", "incident", "change", "cost", "measurement", "work_item")


_EVENT: TypeAdapter[DeploymentIn | IncidentIn | ChangeIn | CostIn | MeasurementIn | WorkItemIn] = TypeAdapter(
    GenericEvent
)
"""One validator for every event type, built once (a wrapping model per event cost a quarter of the
validation: bench/processing.py)."""


_GIT_URL = re.compile(r"^(?:[a-z+]+://[^/]+/|[^@/]+@[^:]+:)(?P<path>.+?)(?:\.git)?/?$")


def normalise_repository(name: str | None) -> str | None:
    """``https://github.com/acme/ledger.git`` and ``git@github.com:acme/ledger.git`` → ``acme/ledger``, the
    form GitHub and GitLab use, so deployments from Argo CD meet the pushes they ship."""
    if not name:
        return name
    match = _GIT_URL.match(name.strip())
    return match.group("path") if match else name.strip()


def validate(value: Any) -> DeploymentIn | IncidentIn | ChangeIn | CostIn | MeasurementIn | WorkItemIn:
    """Check one generic event; InvalidInput names the first bad field (``finished_at``, ``commits.0.sha``)."""
    if not isinstance(value, dict):
        raise InvalidInput("each event must be a JSON object", field=None)
    if value.get("type") not in TYPES:
        raise InvalidInput(f"type must be one of {', '.join(TYPES)}", field="type")
    try:
        event = _EVENT.validate_python(value)
    except ValidationError as exc:
        raise first_error(exc, skip=1) from None  # drop the "<type>" tag from the location
    _check_rules(event)
    return event


def _check_rules(event: DeploymentIn | IncidentIn | ChangeIn | CostIn | MeasurementIn | WorkItemIn) -> None:
    """The checks past the schema. A negative duration is a sender's bug: refused (422 naming the field),
    never silently dropped from time to restore or deployment times; a finished deployment needs its
    ``finished_at``, a measurement its instant or period."""
    pairs: list[tuple[str, datetime | None, str, datetime | None]] = []
    if isinstance(event, DeploymentIn):
        pairs.append(("finished_at", event.finished_at, "started_at", event.started_at))
    elif isinstance(event, IncidentIn):
        pairs.append(("resolved_at", event.resolved_at, "started_at", event.started_at))
        pairs.append(("acknowledged_at", event.acknowledged_at, "started_at", event.started_at))
    elif isinstance(event, CostIn | MeasurementIn):
        pairs.append(("period_end", event.period_end, "period_start", event.period_start))
    _value_rules(event)
    for later_name, later, earlier_name, earlier in pairs:
        if later is not None and earlier is not None and later < earlier:
            raise InvalidInput(f"{later_name} is before {earlier_name}", field=later_name)
    if isinstance(event, DeploymentIn) and event.status != DeploymentStatus.IN_PROGRESS and event.finished_at is None:
        raise InvalidInput("finished_at is required unless status is in_progress", field="finished_at")
    if (
        isinstance(event, MeasurementIn)
        and event.at is None
        and (event.period_start is None or event.period_end is None)
    ):
        raise InvalidInput("a measurement needs at, or period_start and period_end", field="at")


def _work_item(event: WorkItemIn) -> list[Record]:
    return [
        WorkItemRecord(
            source=SOURCE,
            key=event.id,
            kind=event.kind,
            status=event.status,
            raw_status=event.status,
            changed_at=event.changed_at,
            title=event.title,
            service=event.service,
            team=event.team,
            labels=tuple(event.labels),
            created_at=event.created_at,
            parent=event.parent,
            url=event.url,
        )
    ]


def parse(value: Any, config: IntegrationConfig | None = None) -> ParseResult:
    """Records for one generic event (the same checks the API ran at the edge)."""
    return records(validate(value), config)


def records(
    event: DeploymentIn | IncidentIn | ChangeIn | CostIn | MeasurementIn | WorkItemIn,
    config: IntegrationConfig | None = None,
) -> ParseResult:
    """Records for one event :func:`validate` accepted (every check is there: this builds, it refuses
    nothing)."""
    if isinstance(event, WorkItemIn):
        return _work_item(event)
    if isinstance(event, DeploymentIn):
        return [
            DeploymentRecord(
                source=SOURCE,
                external_id=event.id,
                service=event.service,
                environment=event.environment,
                status=event.status,
                finished_at=event.finished_at,
                started_at=event.started_at,
                sha=event.commit_sha,
                repository=normalise_repository(event.repository),
                version=event.version,
                commits=tuple(CommitRef(sha=c.sha, committed_at=c.timestamp) for c in event.commits),
                platform=event.platform,
                rollback_of=event.rollback_of,
                url=event.url,
            ),
            *(
                WorkItemReferenceRecord(key=key, kind="deployment", repository=SOURCE, ref=event.id)
                for key in dict.fromkeys(event.work_items)
            ),
        ]
    if isinstance(event, CostIn | MeasurementIn):
        return [_cost_or_measurement(event)]
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
                commit_sha=event.commit_sha,
                url=event.url,
                **incident_category(
                    config or IntegrationConfig(), explicit=event.category, title=event.title, service=event.service
                ),
            )
        ]
    repository, service = _change_owner(event)
    return [
        ChangeRecord(
            sha=event.sha,
            repository=repository,
            service=service,
            committed_at=event.timestamp,
            pr_number=event.pr_number,
            merged_at=event.merged_at,
        )
    ]


def _value_rules(event: DeploymentIn | IncidentIn | ChangeIn | CostIn | MeasurementIn | WorkItemIn) -> None:
    """A measurement inside its unit's range, a change's repository that names a service, a resolved
    incident's resolved_at."""
    if isinstance(event, MeasurementIn) and (problem := measurement_problem(event.metric, event.value)):
        raise InvalidInput(problem, field="value")
    if isinstance(event, ChangeIn):
        _change_owner(event)
    if isinstance(event, IncidentIn) and event.status == IncidentStatus.RESOLVED and event.resolved_at is None:
        raise InvalidInput("a resolved incident needs resolved_at (when it was resolved)", field="resolved_at")


def _change_owner(event: ChangeIn) -> tuple[str, str]:
    """A change's repository (normalised) and service: its own, else its repository's last segment's slug —
    InvalidInput naming ``repository`` when that is no service name. The edge's check and the record's."""
    repository = normalise_repository(event.repository) or event.repository
    return repository, event.service or repository_service(repository)


def _cost_or_measurement(event: CostIn | MeasurementIn) -> CostRecord | MeasurementRecord:
    if isinstance(event, CostIn):
        return CostRecord(
            source=SOURCE,
            external_id=event.id,
            service=event.service,
            period_start=event.period_start,
            period_end=event.period_end,
            amount=event.amount,
            currency=event.currency,
            platform=event.platform,
            category=event.category,
            resource=event.resource,
        )
    if event.at is not None:
        start = end = event.at
    else:  # validate() made sure of both
        assert event.period_start is not None
        assert event.period_end is not None
        start, end = event.period_start, event.period_end
    return MeasurementRecord(
        source=SOURCE,
        external_id=event.id,
        service=event.service,
        metric=event.metric,
        value=event.value,
        period_start=start,
        period_end=end,
        platform=event.platform,
        unit=event.unit,
    )


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False)
"""``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` without building an
encoder per call (a quarter of its cost on a 2 KB event); the same C encoder, the same text. No check for
cycles (another ~2 µs): what it encodes is decoded JSON or a model's JSON dump, which has none."""


def canonical_json(value: Any) -> str:
    return _CANONICAL.encode(value)


def deliveries(value: Any, *, headers: dict[str, str], currencies: Currencies | None = None) -> list[Delivery]:
    """Validate a request body (one event or an array of up to 500) into inbox deliveries.

    Every event is checked before any is stored, so a batch is all-or-nothing; the field of an error
    in a batch is prefixed with the event's index (``3.finished_at``). With ``currencies``, a cost in a
    currency that has no rate to the reporting currency is refused here, where the sender sees it.
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
            event = validate(item)  # once per event, and no records built: the worker builds them
            if currencies is not None and isinstance(event, CostIn):
                currencies.rate(event.currency)
        except InvalidInput as exc:
            if not is_batch:
                raise
            field = f"{index}.{exc.field}" if exc.field else str(index)
            raise InvalidInput(f"event {index}: {exc.message}", field=field) from None
        body = canonical_json(item)
        key = event.delivery_id or content_key(SOURCE, event.type, body.encode())
        result.append(Delivery(source=SOURCE, event_type=event.type, delivery_key=key, body=body, headers=headers))
    return result
