"""Which FOCUS spend is GPU spend, decided when the figures are read, and the idle GPU cost of FOCUS lines.

FOCUS 1.x has no GPU column. A FOCUS line's spend is GPU spend where its ServiceName (the line's
``resource``) or one of its rows' descriptions (the line's ``details``: ResourceType, SkuMeter,
SkuPriceDetails, ChargeDescription, ServiceSubcategory) matches one of ``Settings.gpu_line_patterns``
(the one place; its defaults are ``service.core.settings.GPU_LINE_PATTERNS``). The rule is applied here,
at read time, never at import: a line's key and external id do not depend on it, so a re-import never
doubles a line, and a changed rule changes the figures without one.

Idle GPU cost of a service-week = its FOCUS GPU spend × (1 − its GPU utilisation), the utilisation being
GPU hours used ÷ provisioned of that service-week over all its platforms (``compute.service_week_gpu``).
A service-week with FOCUS GPU spend takes its idle GPU cost from it alone: an OpenCost (or generic)
``gpu`` line of the same service-week is left out of idle GPU cost, never added (``rollup``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from service.core.settings import Settings
from service.figures.cost.compute import spread_over_weeks
from service.figures.cost.currency import Currencies

FOCUS_SOURCE = "focus"
FOCUS_LINES = "FOCUS lines"
OPENCOST = "OpenCost"
COST_LINES = "cost lines"
"""The sources idle GPU cost is shown with: FOCUS lines marked by the rule, OpenCost's ``gpu`` estimates,
other billed ``gpu`` lines (the generic form)."""
FOCUS_GPU_COLUMNS = ["week", "week_start", "service", "platform", "focus_gpu_cost"]


@dataclass(frozen=True)
class GpuRule:
    patterns: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> GpuRule:
        return cls(tuple(settings.gpu_line_patterns))

    @cached_property
    def compiled(self) -> list[re.Pattern[str]]:
        return [re.compile(p, re.IGNORECASE) for p in self.patterns]

    def matches(self, text: str | None) -> bool:
        return bool(text) and any(p.search(text or "") for p in self.compiled)

    def amount(self, amount: float, resource: str | None, details: dict[str, Any] | None) -> float:
        """The GPU part of a line of ``amount``: all of it when its ServiceName matches, else the summed
        amounts of its matching descriptions."""
        if self.matches(resource):
            return amount
        return float(sum(float(v) for k, v in (details or {}).items() if self.matches(k)))


def focus_gpu_weekly(lines: pd.DataFrame, rule: GpuRule, *, tz: str, currencies: Currencies) -> pd.DataFrame:
    """FOCUS lines (``frames.focus_detail_frame``) → GPU spend per (week, service, platform) in the
    reporting currency (``FOCUS_GPU_COLUMNS``); lines without GPU spend or a service are left out."""
    if lines.empty:
        return pd.DataFrame(columns=FOCUS_GPU_COLUMNS)
    gpu = [
        rule.amount(float(a), r, d)
        for a, r, d in zip(lines["amount"], lines["resource"], lines["details"], strict=True)
    ]
    marked = lines.assign(amount=gpu)
    marked = marked[(marked["amount"] != 0) & marked["service"].notna()]
    if marked.empty:
        return pd.DataFrame(columns=FOCUS_GPU_COLUMNS)
    marked = marked.assign(amount=currencies.convert(marked["amount"], marked["currency"]))
    spread = spread_over_weeks(marked, "amount", tz)
    spread = spread.assign(platform=spread["platform"].fillna(""))
    weekly: pd.DataFrame = spread.groupby(["week", "week_start", "service", "platform"], as_index=False).agg(
        focus_gpu_cost=("amount", "sum")
    )
    weekly["week_start"] = pd.to_datetime(weekly["week_start"], utc=True)
    return weekly[FOCUS_GPU_COLUMNS]


def with_focus_gpu(rows: pd.DataFrame, weekly: pd.DataFrame) -> pd.DataFrame:
    """Rollup rows (week, service, platform, …) with ``focus_gpu_cost`` from ``focus_gpu_weekly``: the one
    join, for the stored rollups' reads and the digest's own alike."""
    rows = rows.drop(columns=["focus_gpu_cost"], errors="ignore")
    if weekly.empty or rows.empty:
        return rows.assign(focus_gpu_cost=np.nan)
    key = ["week", "service", "platform"]
    return rows.merge(weekly[[*key, "focus_gpu_cost"]], on=key, how="left")
