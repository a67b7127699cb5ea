"""Every table, by domain: ``events`` (the inbox, services, deployments, incidents, friction, rollups,
digests, tokens), ``cost``, ``work`` and ``criteria``. Importing this package registers them all on
``SQLModel.metadata`` (Alembic, the schema check and the test fixtures read it)."""

from __future__ import annotations

from service.core.models.cost import CostImport, CostLine, Measurement, WeeklyCostRollup
from service.core.models.criteria import CriteriaChange, MetricDefinition, SuccessCriterion
from service.core.models.events import (
    DERIVED_TABLES,
    ROLLUP_TABLES,
    ApiToken,
    CategoriserModel,
    Change,
    Deployment,
    DeploymentChange,
    Digest,
    FrictionReport,
    InboxEvent,
    Incident,
    Migration,
    PlatformAssignment,
    PullRequest,
    RollupDirty,
    RollupState,
    Service,
    ServiceAlias,
    SlackMessage,
    WeeklyRollup,
)
from service.core.models.imports import ImportCheckpoint, ImportRequest, ImportRun
from service.core.models.pulse import PulseAnswer, PulseMember, PulseQuestion
from service.core.models.schedule import ScheduledRun
from service.core.models.scorecard import ScorecardAssumption
from service.core.models.sessions import WebSessionRecord
from service.core.models.work import WorkItem, WorkItemReference, WorkItemStatus

__all__ = [
    "ApiToken",
    "CategoriserModel",
    "Change",
    "CostImport",
    "CostLine",
    "CriteriaChange",
    "DERIVED_TABLES",
    "ROLLUP_TABLES",
    "Deployment",
    "DeploymentChange",
    "Digest",
    "FrictionReport",
    "ImportCheckpoint",
    "ImportRequest",
    "ImportRun",
    "InboxEvent",
    "Incident",
    "Measurement",
    "Migration",
    "PlatformAssignment",
    "PullRequest",
    "PulseAnswer",
    "PulseMember",
    "PulseQuestion",
    "RollupDirty",
    "RollupState",
    "ScheduledRun",
    "ScorecardAssumption",
    "Service",
    "ServiceAlias",
    "SlackMessage",
    "MetricDefinition",
    "SuccessCriterion",
    "WeeklyCostRollup",
    "WeeklyRollup",
    "WebSessionRecord",
    "WorkItem",
    "WorkItemReference",
    "WorkItemStatus",
]
