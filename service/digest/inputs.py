"""What a digest is built from: the frames, the services and their moves, the migration and its criteria,
and the clock. ``service.digest.build`` fills it from the database; everything downstream is pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from service.core.settings import Settings
from service.criteria.judge import Criterion
from service.digest.net import ASSUMPTION_WORDS, Assumptions
from service.effects.panel import PanelMetric
from service.figures.friction.categorise import Taxonomy
from service.figures.metrics.compute import Frames

DEFAULT_ASSUMPTIONS = Assumptions(**{key: float(Settings.model_fields[key].default) for key in ASSUMPTION_WORDS})
"""The configured defaults (``Settings``), for a digest input built without a database."""


@dataclass(frozen=True, slots=True)
class MigratedService:
    slug: str
    team: str | None
    moved_at: datetime | None
    """When it first ran on the migration's target platform; None: not migrated."""


@dataclass(frozen=True, slots=True)
class DigestInput:
    week: str
    start: datetime
    end: datetime
    audience: str
    week_rows: Frames
    """Raw rows of the digest's week alone (its data-quality warnings): deployments (from a few days before,
    for fix-forwards), the ids of deployments that shipped a commit as ``lead_times``, incidents; and
    friction reports from four weeks before the week to its end (the friction part, themes and quotes)."""
    rollups: pd.DataFrame
    """Weekly rollup rows (``service.figures.metrics.rollup.ROLLUP_COLUMNS`` with team and cohort) of the audience's
    services from ``history_start`` to ``end``, as fresh as the raw rows: every DORA figure, series and
    panel of the digest comes from these (``service.figures.metrics.dora.from_rollups``, ``weekly_from_rollups``)."""
    services: list[MigratedService]
    migration: dict[str, Any] | None
    """name, started_at, baseline_weeks, to_platform, target_date — the migration the digest follows."""
    taxonomy: Taxonomy
    environments: frozenset[str]
    tz: str
    min_sample: int
    quote_min_reporters: int
    now: datetime
    """The clock: an unfinished week is "the week so far", deadlines pass."""
    history_start: datetime
    """Where the rollups start: the effects' panels run from here to the last complete week."""
    criteria: tuple[Criterion, ...] = ()
    criteria_changes: tuple[dict[str, Any], ...] = ()
    follow_up: timedelta = field(default=timedelta(hours=24))
    resource_frames: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    """Cost, measurement and work-item frames by name (``service.effects.resource_panels.FRAME_NAMES``);
    absent ones read as "no data yet"."""
    reporting_currency: str = "USD"
    user_metrics: tuple[PanelMetric, ...] = ()
    """Metrics users declared (``service.criteria.metrics``), judged after the built-in ones."""
    assumptions: Assumptions = DEFAULT_ASSUMPTIONS
    """What the net line values engineering time with (``service.digest.assumptions.current``)."""

    @property
    def partial(self) -> bool:
        return self.end > self.now

    @property
    def until(self) -> datetime:
        """The end of what has happened of the digest's week."""
        return min(self.end, max(self.start, self.now))
