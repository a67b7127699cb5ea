"""The weekly series the HTML charts draw: deploys and incidents per cohort, lead time, change failure rate
and time to restore per cohort, friction by category. Pure: a ``DigestInput`` in, ``Charts`` out."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from service.core.vocab import MIGRATED, NOT_MIGRATED
from service.core.weeks import last_weeks_start
from service.digest.inputs import DigestInput
from service.digest.models import Charts
from service.figures.metrics.rollup import weekly_from_rollups

BAR_METRICS = ("deploys", "incidents")
"""Weekly counts drawn as bars stacked by cohort."""
LINE_METRICS = ("lead_time", "change_failure_rate", "time_to_restore")
"""Weekly medians and rates drawn as one line per cohort."""


def _cohort_series(data: DigestInput, labels: list[str]) -> dict[str, dict[str, list[float | None]]]:
    """Lead time, change failure rate and time to restore per week and cohort, from the one weekly table
    (``compute.weekly``; cohort = the platform the event ran on was a migration's target)."""
    rows = data.rollups
    first = pd.Timestamp(data.start - timedelta(weeks=len(labels) - 1))
    table = weekly_from_rollups(rows[rows["week_start"] >= first], group_by="cohort").set_index(["week", "group"])
    columns = {
        "lead_time": ("lead_time_median_seconds", 1 / 3600),
        "change_failure_rate": ("change_failure_rate", 100.0),
        "time_to_restore": ("time_to_restore_median_seconds", 1 / 3600),
    }
    series: dict[str, dict[str, list[float | None]]] = {}
    for key, (column, factor) in columns.items():
        series[key] = {}
        for cohort in (MIGRATED, NOT_MIGRATED):
            values: list[float | None] = []
            for label in labels:
                value = table[column].get((label, cohort)) if (label, cohort) in table.index else None
                values.append(None if value is None or pd.isna(value) else float(value) * factor)
            series[key][cohort] = values
    return series


def charts(data: DigestInput, weeks: int = 16) -> Charts:
    """Weekly series for the HTML charts: deploys and incidents per cohort, lead time, change failure rate
    and time to restore per cohort, friction by category."""
    start = data.start - timedelta(weeks=weeks - 1)
    labels = [(start + timedelta(weeks=i)) for i in range(weeks)]
    rows = data.rollups

    def cohort_counts(column: str) -> dict[str, list[int]]:
        """Weekly sums per cohort: the platform each event ran on (the one cohort rule, as the lines)."""
        sums = rows.groupby(["week_start", "cohort"])[column].sum()
        return {
            cohort: [int(sums.get((pd.Timestamp(week).tz_convert("UTC"), cohort), 0)) for week in labels]
            for cohort in (MIGRATED, NOT_MIGRATED)
        }

    reports = data.week_rows.friction
    recent = reports[reports["created_at"] >= last_weeks_start(data.start)]
    recent = recent[recent["created_at"] < data.end]
    by_category = recent["category"].value_counts().head(8)
    names = [w.strftime("%G-W%V") for w in labels]
    lines = _cohort_series(data, names)
    return Charts(
        weeks=names,
        deploys=cohort_counts("deployments"),
        incidents=cohort_counts("incidents"),
        lead_time=lines["lead_time"],
        change_failure_rate=lines["change_failure_rate"],
        time_to_restore=lines["time_to_restore"],
        friction_by_category={data.taxonomy.title(str(k)): int(v) for k, v in by_category.items()},
    )
