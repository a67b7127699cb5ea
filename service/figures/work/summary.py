"""The work-item figures for a window, as one JSON-ready dict (``GET /api/v1/metrics/work``).

Pure: frames from service/figures/work/compute.py and ``service.load_incidents`` in. A figure from fewer
samples than ``min_sample`` says ``low_sample`` (as the DORA keys do).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from service.core.vocab import INCIDENT_CATEGORIES
from service.figures.work.compute import open_by_age


def _in(frame: pd.DataFrame, column: str, start: datetime, end: datetime) -> pd.DataFrame:
    moments = frame[column]
    return frame[(moments >= pd.Timestamp(start)) & (moments < pd.Timestamp(end))]


def _days(values: pd.Series) -> dict[str, Any]:
    clean = values.dropna()
    if clean.empty:
        return {"mean_days": None, "median_days": None, "n": 0}
    return {"mean_days": round(float(clean.mean()), 2), "median_days": round(float(clean.median()), 2), "n": len(clean)}


def work_summary(
    samples: pd.DataFrame,
    waiting: pd.DataFrame,
    tickets: pd.DataFrame,
    incidents: pd.DataFrame,
    warnings: list[dict[str, object]],
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    min_sample: int,
) -> dict[str, Any]:
    features = samples[samples["kind"] == "feature"]
    shipped = _in(features[features["basis"] == "shipped"], "shipped_at", start, end)
    fallback = _in(features[features["basis"] == "done_fallback"], "done_at", start, end)
    time_to_ship = _days(shipped["days"]) | {"done_fallback_n": len(fallback)}
    time_to_ship["low_sample"] = time_to_ship["n"] < min_sample
    opened = _in(tickets, "opened_at", start, end)
    resolved = _in(tickets, "resolved_at", start, end)
    weeks = max((end - start).total_seconds() / (7 * 86_400), 1e-9)
    counted = _in(incidents, "started_at", start, end)
    by_category = {name: int((counted["category"] == name).sum()) for name in INCIDENT_CATEGORIES}
    oldest = waiting.sort_values("age_days", ascending=False).head(20)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "time_to_ship": time_to_ship,
        "done_not_shipped": {
            "count": len(waiting),
            "oldest": [
                {
                    "key": row["key"],
                    "service": row["service"],
                    "age_days": round(float(row["age_days"]), 1),
                    "referenced": bool(row["referenced"]),
                }
                for row in oldest.to_dict("records")
            ],
        },
        "support": {
            "opened": len(opened),
            "opened_per_week": round(len(opened) / weeks, 2),
            "time_to_resolve": _days(resolved["resolve_days"]),
            "open_by_age": open_by_age(tickets, now=now),
        },
        "incidents": {"total": len(counted), **by_category, "infra_incidents": by_category["infrastructure"]},
        "warnings": warnings,
    }
