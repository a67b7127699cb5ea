"""What the estimator is asked (``Options``: the design) and what it answers (``Effect``): one definition,
read by the digest, the criteria, the API and the scorecard. Fields are only ever added, never renamed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from service.core.vocab import EffectScale, Method, PreTrendStatus, Verdict

CONFIDENCE = 0.90
PRETREND_CONFIDENCE = 0.90
"""The pre-move drift counts as a divergence when its 90 % interval (not widened for few services) excludes
zero. It names why a claim is withheld; it does not decide whether the bound applies: every claim is held to
the drift extrapolated (``BOUND``), clear or not."""
RESAMPLES = 999
SEED = 20261201
BASE_WEEKS = 8
"""A service's base: its last this many weeks with data before the move."""
HORIZON = 8
"""The event study runs from −HORIZON to +HORIZON weeks since the move."""
DRIFT_WEEKS_AFTER = 16
"""Whether a drift is there to extrapolate is read from the weeks before the move and up to this many after
it together (``service.effects.sensitivity.step_slopes``): a drift that goes on through the move shows on
both sides of it, and the weeks after it double what the weeks before alone can tell."""
PRE_WINDOW = 16
"""The pre-move drift is measured over up to this many weeks before each move (those with data)."""
MIN_TREATED = 3
MIN_CONTROLS = 2
MIN_PRE_WEEKS = 2
"""A moved service takes part only with this many weeks of data in its base."""
PRE_WEEKS = 4
"""The pre-move drift is measured only over at least this many weeks before the moves that have data
(counted in the data's own weeks since the move, not calendar ones)."""
BOUND = 0.0
"""The verdict's M̄ (``service.effects.sensitivity``): every claim must hold with the pre-move drift
extrapolated linearly after the move (M̄ = 0, Rambachan & Roth's Δ^SD(0)), the drift's slope with its own
uncertainty; the breakdown M̄ says how much more the trend may bend before the claim fails."""
POWER_Z = 1.645 + 0.842
"""A minimum detectable effect at 80 % power for a two-sided 90 % interval: (z₀.₉₅ + z₀.₈) standard errors."""

Controls = Literal["not_yet_treated", "never_treated"]


@dataclass(frozen=True, slots=True)
class Options:
    """The design: the analyst's to set per migration (base period, minimum pre weeks, controls, scale)."""

    base_weeks: int = BASE_WEEKS
    horizon: int = HORIZON
    controls: Controls = "not_yet_treated"
    resamples: int = RESAMPLES
    seed: int = SEED
    confidence: float = CONFIDENCE
    min_treated: int = MIN_TREATED
    min_controls: int = MIN_CONTROLS
    min_pre_weeks: int = MIN_PRE_WEEKS
    pre_weeks: int = PRE_WEEKS
    pre_window: int = PRE_WINDOW
    scale: EffectScale = "additive"
    """The metric's ``effect_scale`` (``service.core.vocab``); additive is Callaway & Sant'Anna's."""
    bound: float = BOUND
    cells: bool = False
    """Also return the group-time table with each cell's interval (one more pass over the cells)."""


@dataclass(frozen=True, slots=True)
class PreTrend:
    status: PreTrendStatus
    estimate: float | None = None
    """The moved services' drift per week against the controls before the move, relative (−0.02: 2 % a
    week lower each week)."""
    low: float | None = None
    high: float | None = None
    cohorts: int = 0
    weeks: int = 0
    """Weeks before the move (since-move slots) with data the drift is measured over."""


@dataclass(frozen=True, slots=True)
class EventPoint:
    week: int
    """Weeks since the move: 0 is the first week on the new platform."""
    relative: float | None
    low: float | None
    high: float | None
    services: int


@dataclass(frozen=True, slots=True)
class GroupTimeCell:
    """One row of the group-time table: a cohort in one week, its effect (``att`` and its interval) in the unit
    of the effect it belongs to (``Effect``: the panel's stored unit; the digest: the metric's unit) and relative.
    The digest's JSON and the API's CSV carry it as it is (pydantic reads the descriptions)."""

    cohort: Annotated[date, Field(description="The cohort's first week on the new platform (Monday)")]
    week: date
    since: Annotated[int, Field(description="Weeks since the cohort's move")]
    att: float | None
    att_low: float | None
    att_high: float | None
    relative: float | None
    low: float | None
    high: float | None
    treated: int
    controls: int


@dataclass(frozen=True, slots=True)
class Effect:
    """What the data says about the move's effect on one metric (values in the panel's unit)."""

    method: Method
    verdict: Verdict
    reason: str | None
    """Why there is no claim: few_treated, few_controls, few_weeks, no_baseline (nothing before the move to
    compare with), pre_trend_diverging (a clear pre-move drift, extrapolated, explains the change),
    pre_trend_untested."""
    treated: int
    controls: int
    cohorts: int
    before: float | None = None
    """The moved services' mean before their move."""
    after: float | None = None
    """Their mean after it (observed)."""
    after_low: float | None = None
    after_high: float | None = None
    counterfactual: float | None = None
    """What they would have shown after the move without it (after − att)."""
    att: float | None = None
    att_low: float | None = None
    att_high: float | None = None
    relative: float | None = None
    low: float | None = None
    high: float | None = None
    mde_relative: float | None = None
    """The smallest relative effect these data would detect 80 % of the time."""
    pre_trend: PreTrend = field(default_factory=lambda: PreTrend("not_tested"))
    event_study: tuple[EventPoint, ...] = ()
    post_weeks: int = 0
    scale: EffectScale = "additive"
    """How the effect was modelled: ratio (multiplicative trends) or additive."""
    sensitivity_low: float | None = None
    sensitivity_high: float | None = None
    """The relative interval net of the pre-move drift extrapolated, its slope free to change by up to
    ``sensitivity_bound`` × itself (``service.effects.sensitivity``)."""
    sensitivity_bound: float = BOUND
    breakdown: float | None = None
    """The M̄ at which the claim stops holding (0: the plain interval already includes no change)."""
    drift_seen: bool | None = None
    """Whether the weeks before and after the move show a drift on the effect's side (the bound decides the
    verdict only then); None where the pre-move trend was not tested."""
    drift_detectable: float | None = None
    """The relative drift a week those weeks would detect 80 % of the time: the drift a claim made without a
    seen one cannot rule out."""
    group_time: tuple[GroupTimeCell, ...] = ()
    design: Options | None = None
    """The design the effect was estimated with."""

    @property
    def mde(self) -> float | None:
        return self.mde_relative

    @property
    def caveated(self) -> bool:
        """A claim whose pre-move trend was measured: it carries the sensitivity caveat (how far the trend
        after the move may bend before the claim fails), whether or not that drift was clear."""
        return self.verdict == "changed" and self.pre_trend.status != "not_tested" and self.breakdown is not None
