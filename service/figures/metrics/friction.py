"""Friction figures, as pure functions of the friction frame (see ``service.figures.metrics.service``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from service.core.vocab import CLOSED, OPEN, ReportStatus
from service.figures.friction.categorise import Taxonomy


def summary(frame: pd.DataFrame, start: datetime, end: datetime, *, taxonomy: Taxonomy) -> dict[str, Any]:
    """Reports filed in the window: counts, minutes lost, per category (titled by the deployment's
    taxonomy), open vs resolved, time to resolve."""
    resolved = frame[frame["status"].isin(CLOSED) & frame["resolved_at"].notna()]
    hours = (resolved["resolved_at"] - resolved["created_at"]).dt.total_seconds() / 3600.0
    by_category: list[dict[str, Any]] = []
    for category, rows in frame.groupby("category"):
        by_category.append(
            {
                "category": str(category),
                "title": taxonomy.title(str(category)),
                "reports": len(rows),
                "minutes_lost": int(rows["minutes_lost"].fillna(0).sum()),
                "open": int(rows["status"].isin(OPEN).sum()),
            }
        )
    by_category.sort(key=lambda item: (-item["reports"], item["category"]))
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "reports": len(frame),
        "minutes_lost": int(frame["minutes_lost"].fillna(0).sum()),
        "open": int(frame["status"].isin(OPEN).sum()),
        "resolved": int(frame["status"].eq(ReportStatus.RESOLVED).sum()),
        "wont_fix": int(frame["status"].eq(ReportStatus.WONT_FIX).sum()),
        "median_hours_to_resolve": None if hours.empty else round(float(hours.median()), 2),
        "by_category": by_category,
    }
