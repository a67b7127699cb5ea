"""The digest's JSON contract as pydantic models: what ``GET /api/v1/digests/{week}`` returns, what is
stored with a posted digest, and what the web app reads. Every field a BI user reads is documented here
(the OpenAPI schema is generated from these models).

Fields added after version 1 have defaults, so digests stored before them still validate.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from service.core.vocab import CriterionStatus, Direction, EffectScale, Kind, Method, PreTrendStatus, Verdict
from service.effects.result import GroupTimeCell


class HeadlineRow(BaseModel):
    key: str
    label: str
    unit: str
    this_week: float | None = Field(description="The digest's week (or the week so far, when it is unfinished)")
    four_week_average: float | None
    baseline: float | None = Field(description="Weekly average over the baseline weeks before the migration")
    direction: str = Field(description="up, down, flat or new: this week against the 4-week average")
    better: bool | None = Field(description="Against the 4-week average (kept for version 1 readers)")
    vs_four_weeks: bool | None = Field(default=None, description="True: better than the 4-week average")
    vs_baseline: bool | None = Field(default=None, description="True: better than before the migration")
    colour_by: Literal["baseline", "four_week_average"] = Field(
        default="four_week_average", description="Which comparison the colour of this row shows"
    )
    band: str | None = None
    low_sample: bool


class PreTrend(BaseModel):
    status: PreTrendStatus
    estimate: float | None = None
    low: float | None = None
    high: float | None = None


class EventPoint(BaseModel):
    week: int = Field(description="Weeks since the move (0: the first whole week on the new platform)")
    relative: float | None
    low: float | None
    high: float | None
    services: int


class ServiceChange(BaseModel):
    service: str
    moved_on: date | None
    before: float | None = Field(description="Mean of the weeks before the move (up to 8), in the metric's unit")
    after: float | None = Field(description="Mean of the complete weeks since the move (up to 8)")
    relative: float | None


class Design(BaseModel):
    """The design an effect was estimated with (shown with every result)."""

    scale: EffectScale
    base_weeks: int = Field(description="A service's base: its last this many weeks with data before its move")
    min_pre_weeks: int = Field(description="Weeks with data a moved service needs in its base")
    pre_weeks: int = Field(description="Weeks with data before the moves the pre-move drift needs")
    controls: str = Field(description="not_yet_treated or never_treated")
    bound: float = Field(description="The verdict's M̄: the bend after the move a claim must survive")


class BeforeAfter(BaseModel):
    """The migration's effect on one metric. ``relative``/``low``/``high`` are against the counterfactual
    when ``method`` is ``staggered_did``; a plain before/after when it is ``before_after``."""

    metric: str
    label: str
    before: float | None
    after: float | None
    relative: float | None
    low: float | None
    high: float | None
    services: int = Field(description="Moved services the estimate uses")
    verdict: Verdict
    sentence: str
    method: Method = "none"
    controls: int = Field(default=0, description="Not-yet-moved and never-moved services compared with")
    pre_trend: PreTrend | None = None
    unit: str = ""
    higher_is_better: bool | None = None
    reason: str | None = None
    counterfactual: float | None = None
    mde_relative: float | None = Field(default=None, description="Smallest relative effect the data would detect")
    event_study: list[EventPoint] = Field(default_factory=list)
    per_service: list[ServiceChange] = Field(default_factory=list)
    scale: EffectScale = Field(default="additive", description="ratio: multiplicative trends; additive: levels")
    att: float | None = Field(default=None, description="The effect in the metric's unit (after − counterfactual)")
    att_low: float | None = None
    att_high: float | None = None
    sensitivity_low: float | None = Field(
        default=None, description="The relative interval allowing the trend after the move to bend as much as before"
    )
    sensitivity_high: float | None = None
    breakdown: float | None = Field(
        default=None, description="The bend (× the pre-move drift) at which the claim fails"
    )
    caveat: str | None = Field(default=None, description="The sensitivity caveat of a claim made over a pre-move drift")
    drift_seen: bool | None = Field(
        default=None, description="Whether the weeks around the move show a drift on the effect's side"
    )
    drift_detectable: float | None = Field(
        default=None, description="The relative drift a week those weeks would detect 80 % of the time"
    )
    design: Design | None = None
    group_time: list[GroupTimeCell] = Field(default_factory=list)


class CriterionResult(BaseModel):
    metric: str
    label: str
    goal: str = Field(default="", description="The criterion in words: 'Deploys per week at least +100%'")
    direction: Direction
    kind: Kind
    target: float
    deadline: datetime | None
    status: CriterionStatus
    estimate: float | None
    low: float | None
    high: float | None
    sentence: str


class CriteriaTrailEntry(BaseModel):
    """One entry of a migration's criteria trail: what changed, from what to what, by whom and when."""

    subject: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changed_by: str
    changed_at: datetime


class CriteriaChangeNote(CriteriaTrailEntry):
    sentence: str


class Cohort(BaseModel):
    """A cohort's DORA figures over the last four weeks: the events that ran on a migration's target platform
    (``migrated``) or not (``not_migrated``), whatever service they belong to."""

    services: int = Field(description="Services with events in this cohort over those weeks")
    deploys: float | None = Field(validation_alias=AliasChoices("deploys", "deployment_frequency"))
    lead_time: float | None
    change_failure_rate: float | None
    time_to_restore: float | None
    incidents: float | None
    low_sample: bool

    def figure(self, metric: str) -> float | None:
        """The cohort's figure of a headline metric (``service.digest.content.HEADLINE``), by its key."""
        figures = {
            "deploys": self.deploys,
            "lead_time": self.lead_time,
            "change_failure_rate": self.change_failure_rate,
            "time_to_restore": self.time_to_restore,
            "incidents": self.incidents,
        }
        return figures[metric]


class MigrationPart(BaseModel):
    name: str
    services_total: int
    services_migrated: int
    cohorts_over: str
    cohorts: dict[str, Cohort]
    before_after: list[BeforeAfter]
    started_at: datetime | None = None
    target_date: datetime | None = None
    schedule: str | None = Field(default=None, description="Progress against the target date, in words")
    criteria: list[CriterionResult] = Field(default_factory=list)
    criteria_changes: list[CriteriaChangeNote] = Field(
        default_factory=list, description="Changes to the criteria or dates made after the migration started"
    )


class Warning(BaseModel):
    code: str
    message: str
    count: int
    examples: list[str] = Field(default_factory=list)


class Category(BaseModel):
    category: str
    title: str
    reports: int
    last_week: int


class RisingTheme(BaseModel):
    title: str
    service: str | None
    reports: int
    example: str


class Resolution(BaseModel):
    id: int
    text: str
    note: str


class FrictionPart(BaseModel):
    new: int
    last_week: int
    hours_lost: float
    top_categories: list[Category]
    rising_themes: list[RisingTheme]
    quotes: list[str]
    you_said_we_did: list[Resolution]


class Charts(BaseModel):
    weeks: list[str]
    deploys: dict[str, list[int]]
    incidents: dict[str, list[int]]
    lead_time: dict[str, list[float | None]] = Field(default_factory=dict, description="Median hours per cohort")
    change_failure_rate: dict[str, list[float | None]] = Field(default_factory=dict, description="% per cohort")
    time_to_restore: dict[str, list[float | None]] = Field(default_factory=dict, description="Median hours")
    friction_by_category: dict[str, int]

    def within(self, first: str | None, last: str | None) -> Charts:
        """The weeks from ``first`` to ``last`` (ISO week labels, either open), every series cut alike."""
        keep = [i for i, w in enumerate(self.weeks) if (first is None or w >= first) and (last is None or w <= last)]

        def cut(table: dict[str, list[Any]]) -> dict[str, list[Any]]:
            return {k: [v[i] for i in keep if i < len(v)] for k, v in table.items()}

        return self.model_copy(
            update={
                "weeks": [self.weeks[i] for i in keep],
                "deploys": cut(self.deploys),
                "incidents": cut(self.incidents),
                "lead_time": cut(self.lead_time),
                "change_failure_rate": cut(self.change_failure_rate),
                "time_to_restore": cut(self.time_to_restore),
            }
        )

    def bars(self, metric: str) -> dict[str, list[int]]:
        """The weekly counts per cohort of a bar metric (``service.digest.series.BAR_METRICS``)."""
        series = {"deploys": self.deploys, "incidents": self.incidents}
        return series[metric]

    def lines(self, metric: str) -> dict[str, list[float | None]]:
        """The weekly values per cohort of a line metric (``service.digest.series.LINE_METRICS``)."""
        series = {
            "lead_time": self.lead_time,
            "change_failure_rate": self.change_failure_rate,
            "time_to_restore": self.time_to_restore,
        }
        return series[metric]


class CostFigures(BaseModel):
    compute_cost: float | None = Field(description="Compute cost in the reporting currency (credits subtract)")
    unallocated_cost_share: float | None = Field(description="Share (0–1) of the cost with no service tag")
    gpu_utilisation: float | None = Field(description="GPU hours used ÷ provisioned (0–1), weighted by hours")
    idle_gpu_cost: float | None = Field(description="GPU cost × (1 − GPU utilisation)")
    cold_start_p95_seconds: float | None


class PlatformCost(BaseModel):
    platform: str
    this_week: float | None
    four_week_average: float | None = Field(description="Mean weekly cost over the 4 weeks before")


class CostPart(BaseModel):
    """Cost and utilisation beside DORA: the week's figures, not the migration's effect (see
    ``migration.before_after[]`` keys ``compute_cost``, ``gpu_utilisation``, ``cold_start_p95``)."""

    currency: str
    this_week: CostFigures | None
    four_week_average: CostFigures | None = Field(description="Mean of the 4 weekly figures before this week")
    by_platform: list[PlatformCost] = Field(default_factory=list)
    hybrid: bool = Field(default=False, description="Two or more platforms were paid for this week")
    sentence: str | None = None


class ProductivityPart(BaseModel):
    """Engineering productivity: infrastructure support load from the trackers beside friction hours."""

    support_tickets: int = Field(description="Infrastructure support tickets opened this week")
    support_tickets_four_week_average: float
    time_to_resolve_median_days: float | None
    time_to_resolve_four_week_median_days: float | None
    open_support_tickets: int
    friction_hours_lost: float
    friction_hours_four_week_average: float
    features_shipped: int
    time_to_ship_mean_days: float | None
    time_to_ship_low_sample: bool


class IncidentCategories(BaseModel):
    """Infrastructure-related incidents beside all incidents this week (``infra_incidents``)."""

    total: int
    infrastructure: int
    application: int
    unknown: int
    total_four_week_average: float
    infrastructure_four_week_average: float


ScorecardKey = Literal["velocity", "utilisation", "productivity", "delivery", "cost", "stability"]
Tone = Literal["better", "worse", "neutral"]
"""The one colour rule's three colours (``service.digest.colour``): against the baseline."""


class Estimate(BaseModel):
    """A figure with its 90 % interval (``low``/``high`` None: no interval, so no claim)."""

    estimate: float | None
    low: float | None = None
    high: float | None = None


class ScorecardMetric(BaseModel):
    """One metric of a scorecard tile, read from its effect (``migration.before_after[]``)."""

    metric: str
    label: str
    verdict: Verdict
    relative: float | None = Field(description="Relative effect (-0.25: 25 % lower than without the move)")
    low: float | None
    high: float | None
    tone: Tone
    sentence: str


class ScorecardTile(BaseModel):
    """One article category: its lead metric's verdict, estimate and 90 % interval (fractions), the other
    metrics it reads, its success criterion and where the evidence is."""

    key: ScorecardKey
    title: str
    metric: str = Field(description="The tile's lead metric (``data-metric``)")
    label: str
    verdict: Verdict
    estimate: float | None = Field(description="Relative effect of the lead metric, a fraction")
    low: float | None
    high: float | None
    tone: Tone
    sentence: str
    mde_relative: float | None = None
    sensitivity: str | None = Field(
        default=None, description="How far parallel trends may bend before the claim fails; None until estimated"
    )
    criterion_status: CriterionStatus | None = None
    criterion_goal: str | None = None
    others: list[ScorecardMetric] = Field(default_factory=list)
    evidence: str = Field(description="The claim's anchor on the overview: #claim-<metric>")


class Assumption(BaseModel):
    key: str
    label: str
    value: float
    unit: str


class NetComponent(BaseModel):
    """One part of the net line: a quantity per week with its interval and its value in money.
    Signs: ``value`` positive is a gain (hours bought back, cost saved)."""

    key: Literal["cost", "friction", "support", "incidents"]
    label: str
    metric: str
    quantity: Estimate | None = Field(description="Per week: hours bought back, or the cost change (+: rose)")
    unit: str
    value: Estimate | None = Field(description="Per week in the currency; positive: a gain")
    basis: str = Field(description="The arithmetic, in words, with the assumptions it uses")
    missing: str | None = Field(default=None, description="Why it is not counted, when it is not")


class NetLine(BaseModel):
    """The weekly net in money: the cost change beside the engineering time bought back, each with its
    90 % interval; never one unqualified ROI number."""

    currency: str
    cost_change: Estimate | None = Field(description="Weekly compute cost change of the moved services (+: rose)")
    platforms: list[PlatformCost] = Field(default_factory=list, description="This week's cost on each platform")
    hybrid: bool = False
    hours_bought_back: Estimate | None
    time_value: Estimate | None
    net: Estimate | None = Field(description="time_value − cost_change, per week; its interval is approximate")
    components: list[NetComponent]
    assumptions: list[Assumption]
    not_counted: list[str] = Field(default_factory=list)
    sentence: str


class ScorecardPart(BaseModel):
    tiles: list[ScorecardTile]
    net: NetLine | None = None
    legend: str
    effects: list[BeforeAfter] = Field(
        default_factory=list, description="Effects the scorecard reads beyond migration.before_after (friction)"
    )


class DigestContent(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    week: str
    audience: str
    from_: str = Field(alias="from")
    to: str
    partial: bool = Field(default=False, description="The week is not over: figures are for the week so far")
    week_label: str = Field(default="", description="The week as shown: '2026-W47' or '2026-W47 (week so far)'")
    empty: bool
    summary: str
    verdict: list[str] = Field(default_factory=list, description="The two or three sentences the digest opens with")
    headline: list[HeadlineRow]
    migration: MigrationPart | None
    friction: FrictionPart
    charts: Charts
    warnings: list[Warning] = Field(default_factory=list, description="Data-quality warnings for the week")
    definitions_version: str
    cost: CostPart | None = Field(default=None, description="Cost and utilisation; null without cost data")
    productivity: ProductivityPart | None = Field(default=None, description="Support load and friction hours")
    incident_categories: IncidentCategories | None = Field(default=None, description="Incidents by category")
    scorecard: ScorecardPart | None = Field(default=None, description="One tile per article category and the net")

    @property
    def short(self) -> bool:
        """Whether the digest is its summary line alone: a quiet week (no deployments, incidents or reports)
        with no cost, migration or scorecard to show either. Every renderer asks this, not ``empty``: a quiet
        week that was billed, or whose migration has effects to read, still shows them."""
        return self.empty and self.cost is None and self.migration is None and self.scorecard is None

    def as_json(self) -> dict[str, Any]:
        """The stored and served form (``from`` spelled as such, datetimes as RFC 3339)."""
        return self.model_dump(mode="json", by_alias=True)


def read_stored(content: dict[str, Any]) -> DigestContent:
    """A kept digest in today's shape: fields renamed since it was stored (a cohort's ``deployment_frequency``,
    now ``deploys``) read under their new names, so every renderer sees one shape. The one place a stored
    digest is read back; ``DigestContent.as_json`` is the one place it is written."""
    return DigestContent.model_validate(content)
