"""Each moved service against itself: the one definition of a service's own before/after, which the
digest's per-service table and the web app's services table both show (the web app reads it from the
digest). Not an effect — there is no comparison group here; the effect is ``service.effects.did`` — but it
shows where the pooled figure comes from.

Before: the up-to-``SIDE_WEEKS`` complete weeks before the week the service moved. After: the
up-to-``SIDE_WEEKS`` complete weeks from its first whole week on the new platform. A move in the middle of
a week leaves that week out of both (it is half and half). Each side is the weighted mean of the panel's
values (``service.effects.panel``: deployments weigh a lead time, completed deployments a failure rate),
so a side is the metric over its weeks, not a mean of unequal weeks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from service.core.weeks import week_start
from service.effects.panel import first_treated_week

SIDE_WEEKS = 8


@dataclass(frozen=True, slots=True)
class OwnChange:
    service: str
    moved_on: date
    """The first whole week on the new platform."""
    before: float | None
    after: float | None

    @property
    def relative(self) -> float | None:
        if self.before is None or self.after is None or self.before <= 0:
            return None
        return self.after / self.before - 1


def own_changes(
    panel: pd.DataFrame, moves: Mapping[str, datetime | None], tz: str, *, weeks: int = SIDE_WEEKS
) -> list[OwnChange]:
    """Every moved service with at least one usable week on either side, by service name. ``panel``: the
    panel contract (complete weeks only); ``moves``: when each service first ran on the target platform."""
    zone = ZoneInfo(tz)
    moved = {s: (week_start(m, zone), first_treated_week(m, tz)) for s, m in moves.items() if m is not None}
    if not moved or panel.empty:
        return []
    usable = panel[panel["value"].notna() & (panel["weight"] > 0) & panel["service"].isin(moved)]
    codes, names = pd.factorize(usable["service"])
    week_codes, starts = pd.factorize(usable["week_start"])
    week = np.array(list(starts), dtype="datetime64[D]")[week_codes]
    move_week = np.array([moved[str(n)][0] for n in names], dtype="datetime64[D]")[codes]
    first = np.array([moved[str(n)][1] for n in names], dtype="datetime64[D]")[codes]
    span = np.timedelta64(7 * weeks, "D")
    weight = usable["weight"].to_numpy(dtype=float)
    weighted = usable["value"].to_numpy(dtype=float) * weight
    means: dict[tuple[str, str], float] = {}
    for side, inside in (
        ("before", (week < move_week) & (week >= move_week - span)),
        ("after", (week >= first) & (week < first + span)),
    ):
        total = np.bincount(codes, weights=weight * inside, minlength=len(names))
        value = np.bincount(codes, weights=weighted * inside, minlength=len(names))
        means |= {(str(n), side): float(value[i] / total[i]) for i, n in enumerate(names) if total[i] > 0}
    out = []
    for service in sorted(moved):
        before, after = means.get((service, "before")), means.get((service, "after"))
        if before is None and after is None:
            continue
        out.append(
            OwnChange(
                service=service,
                moved_on=moved[service][1],
                before=None if before is None else float(before),
                after=None if after is None else float(after),
            )
        )
    return out
