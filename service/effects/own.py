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

from service.effects.panel import first_treated_week
from service.timeutil import week_start

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
    week = pd.to_datetime(usable["week_start"])
    move_week = pd.to_datetime(usable["service"].map({s: w for s, (w, _) in moved.items()}))
    first = pd.to_datetime(usable["service"].map({s: f for s, (_, f) in moved.items()}))
    side = np.select(
        [
            (week < move_week) & (week >= move_week - pd.Timedelta(weeks=weeks)),
            (week >= first) & (week < first + pd.Timedelta(weeks=weeks)),
        ],
        ["before", "after"],
        default="",
    )
    frame = pd.DataFrame(
        {
            "service": usable["service"].to_numpy(),
            "side": side,
            "weighted": (usable["value"] * usable["weight"]).to_numpy(),
            "weight": usable["weight"].to_numpy(),
        }
    )
    sums = frame[frame["side"] != ""].groupby(["service", "side"])[["weighted", "weight"]].sum()
    means = (sums["weighted"] / sums["weight"]).to_dict()
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
