"""The DORA results as pydantic models: the API's contract, so OpenAPI documents every field a BI user
reads. ``service.figures.metrics.dora`` computes plain values; :func:`dora_result` checks them into this shape
(``extra="forbid"``: a figure added there and not here fails loudly instead of going undocumented)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Band = str | None
BAND = (
    "DORA performance band (elite/high/medium/low; frequency: on-demand/daily/weekly/monthly/fewer); "
    "null with low_sample"
)
LOW = "True when computed from fewer samples than FRICTIONLOG_MIN_SAMPLE: read it as a hint, not a finding"


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Sampled(_Result):
    """A figure that says when it rests on too few samples."""

    low_sample: bool = Field(description=LOW)


class _Banded(_Sampled):
    """A DORA key, placed in its performance band."""

    band: Band = Field(description=BAND)


class DeploymentFrequency(_Banded):
    deployments: int = Field(description="Successful production deployments in the window")
    per_week: float | None = Field(
        description="deployments ÷ weeks in the window; null below a week (short_window: read the count)"
    )
    deploy_days: int = Field(description="Distinct days (configured time zone) with a successful deployment")
    window_days: float = Field(description="The window's length in days (the rate's denominator × 7)")
    short_window: bool = Field(description="True when the window is shorter than a week: no rate, no band")


class LeadTime(_Banded):
    median_seconds: float | None = Field(description="Median commit → production deployment, seconds")
    p90_seconds: float | None = Field(description="90th percentile, seconds")
    n: int = Field(description="Commits counted")
    excluded: int = Field(description="Commits left out (first deployment, bots, non-positive times)")
    excluded_by_reason: dict[str, int]


class ChangeFailureRate(_Banded):
    rate: float | None = Field(description="failed ÷ deployments (0–1); null without deployments")
    failed: int = Field(description="Production deployments that failed, were rolled back or caused an incident")
    deployments: int = Field(description="Production deployments that finished in the window")


class TimeToRestore(_Banded):
    median_seconds: float | None = Field(description="Median incident start → resolution, seconds")
    n: int = Field(description="Resolved incidents counted")
    unresolved: int = Field(description="Incidents that started in the window and are not resolved")


class ReworkRate(_Sampled):
    rate: float | None = Field(description="unplanned ÷ deployments (0–1): DORA 2024's fifth key")
    unplanned: int = Field(description="Rollbacks and fixes forward after a failed deployment")
    n: int = Field(description="Production deployments in the window")


class IncidentSummary(_Result):
    count: int
    by_severity: dict[str, int]
    minutes_of_impact: float = Field(description="Sum of start → resolution, minutes (unresolved count 0)")
    unresolved: int


class DataWarning(_Result):
    code: str = Field(description="Stable code, e.g. incidents_unlinked")
    message: str
    count: int
    examples: list[str] = Field(description="Up to five affected names")


class DoraResult(_Result):
    definitions_version: str = Field(description="Version of docs/metrics.md the figures follow")
    bands_from: str = Field(description="The report the band thresholds come from")
    start: str = Field(alias="from", description="Window start, inclusive (RFC 3339)")
    end: str = Field(alias="to", description="Window end, exclusive (RFC 3339)")
    deployment_frequency: DeploymentFrequency
    lead_time: LeadTime
    change_failure_rate: ChangeFailureRate
    time_to_restore: TimeToRestore
    rework_rate: ReworkRate
    incidents: IncidentSummary
    warnings: list[DataWarning] = Field(default_factory=list, description="What may make the figures mislead")


def dora_result(values: dict[str, Any]) -> DoraResult:
    return DoraResult.model_validate(values)


class StageSpan(_Result):
    from_: str = Field(alias="from", description="The column the stage starts at")
    to: str = Field(description="The column the stage ends at")


class StageWeek(_Result):
    week: str = Field(description="ISO week of the deployment, in the configured time zone")
    group: str
    requests: int = Field(description="Pull/merge requests production deployments shipped this week")
    coding_median_seconds: float | None = Field(description="Median first commit → request opened, seconds")
    coding_p90_seconds: float | None
    coding_n: int = Field(description="Requests whose coding stage is counted (both ends known and ordered)")
    review_median_seconds: float | None = Field(description="Median opened → merged, seconds")
    review_p90_seconds: float | None
    review_n: int
    deploy_median_seconds: float | None = Field(description="Median merged → production deployment, seconds")
    deploy_p90_seconds: float | None
    deploy_n: int
    commits_without_request: int = Field(description="Counted commits pushed without a request (no review stage)")


class LeadTimeStages(_Result):
    """docs/metrics.md, "Lead time by stage"."""

    group_by: str
    timezone: str
    stages: dict[str, StageSpan]
    rows: list[StageWeek]
