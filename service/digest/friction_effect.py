"""Minutes lost to friction per service-week as a panel the effects' estimator judges like any metric, so
the net line's friction hours come with an interval and a comparison group. Its builder reads the weekly
table by service (``dora_panels.weekly_by_service``: the rollups' ``friction_minutes_lost``)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from service.digest.scorecard import FRICTION_MINUTES
from service.effects.dora_panels import weekly_by_service
from service.effects.panel import PanelInputs, PanelMetric, grid


def friction_minutes(inputs: PanelInputs) -> pd.DataFrame:
    """Minutes lost per (service, week): 0 in a week without reports, from the service's first week with a
    deployment, an incident or a report on (empty weeks before it sent anything would fake a change)."""
    table = weekly_by_service(inputs)
    keyed = table.assign(value=table["friction_minutes_lost"].astype(float), weight=1.0)
    active = keyed[(keyed["completed_deployments"] > 0) | (keyed["incidents"] > 0) | (keyed["friction"] > 0)]
    first = active.groupby("service")["week_start"].min()
    frame = grid(inputs.services, inputs.start, inputs.end).merge(
        keyed[["service", "week_start", "value", "weight"]], on=["service", "week_start"], how="left"
    )
    since = frame["service"].map(first)
    alive = since.notna() & (frame["week_start"] >= since.where(since.notna(), date.max))
    frame["value"] = frame["value"].fillna(0.0).where(alive)
    frame["weight"] = np.where(alive, 1.0, 0.0)
    return frame.astype({"value": float, "weight": float})


FRICTION = PanelMetric(
    FRICTION_MINUTES,
    "Minutes lost to friction per service-week",
    "minutes",
    False,
    "Minutes lost to friction per service-week",
    build=friction_minutes,
)
