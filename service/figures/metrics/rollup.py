"""Weekly rollups as pure functions: raw frames → rollup rows, and rollup rows → the weekly table.

``weekly_from_rollups(rollup(frames))`` equals ``compute.weekly(frames)`` (tests/test_rollups.py checks it
on random data), so reading from rollups changes the cost, never the figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from service.core.weeks import week_label, week_start_instants
from service.figures.metrics.compute import WEEKLY_COLUMNS, Frames, counted_lead_seconds, judged_production

KEY = ["week", "week_start", "service", "platform"]
ROLLUP_COLUMNS = [
    *KEY,
    "deployments",
    "completed",
    "failed",
    "deploy_days_mask",
    "lead_seconds",
    "incidents",
    "restore_seconds",
    "friction",
    "friction_minutes",
]


def _keyed(frame: pd.DataFrame, moment: str, tz: str) -> pd.DataFrame:
    return frame.assign(
        week=week_label(frame[moment], tz),
        week_start=week_start_instants(frame[moment], tz),
        platform=frame["platform"].fillna(""),
    )


def rollup(frames: Frames, *, tz: str, environments: frozenset[str]) -> pd.DataFrame:
    incidents = frames.incidents
    prod = _keyed(judged_production(frames.deployments, incidents, environments), "finished_at", tz).assign(
        day_bit=lambda f: np.left_shift(1, f["finished_at"].dt.tz_convert(tz).dt.day_of_week).where(f["succeeded"], 0),
    )
    deploys = prod.groupby(KEY).agg(
        deployments=("succeeded", "sum"),
        completed=("id", "count"),
        failed=("failed", "sum"),
        deploy_days_mask=("day_bit", lambda bits: int(np.bitwise_or.reduce(bits.to_numpy(dtype=np.int64)))),
    )
    leads = counted_lead_seconds(frames.lead_times.merge(prod[["id", *KEY]], left_on="deployment_id", right_on="id"))
    lead = leads.groupby(KEY)["seconds"].agg(lead_seconds=lambda s: sorted(float(v) for v in s))
    inc = _keyed(incidents, "started_at", tz)
    inc = inc.assign(restore=(inc["resolved_at"] - inc["started_at"]).dt.total_seconds())
    restore = inc.groupby(KEY).agg(
        incidents=("id", "count"),
        restore_seconds=("restore", lambda s: sorted(float(v) for v in s.dropna() if v >= 0)),
    )
    felt = (
        _keyed(frames.friction, "created_at", tz)
        .groupby(KEY)
        .agg(friction=("id", "count"), friction_minutes=("minutes_lost", "sum"))
    )
    table = deploys.join(lead, how="outer").join(restore, how="outer").join(felt, how="outer").reset_index()
    for column in (
        "deployments",
        "completed",
        "failed",
        "deploy_days_mask",
        "incidents",
        "friction",
        "friction_minutes",
    ):
        table[column] = table[column].fillna(0).astype(int)
    for column in ("lead_seconds", "restore_seconds"):
        table[column] = table[column].map(lambda v: v if isinstance(v, list) else [])
    return table[ROLLUP_COLUMNS]


def _samples(rows: pd.DataFrame, column: str, prefix: str) -> pd.DataFrame:
    """Median, p90 and count of a sample column across each (week, group), vectorised: the per-row
    samples (lists or arrays) are laid end to end in one array, each value carrying its row's group number
    (the string keys are grouped once per row, not once per sample: 8× faster on a year's lead times)."""
    samples = rows[column].to_numpy()
    lengths = np.fromiter((len(v) for v in samples), dtype=np.int64, count=len(samples))
    keys = rows.groupby(["week", "group"], sort=True)
    flat = np.concatenate([np.asarray(v, dtype=float) for v in samples]) if lengths.sum() else np.empty(0)
    values = pd.Series(flat).groupby(np.repeat(keys.ngroup().to_numpy(), lengths))
    out = pd.DataFrame(
        {
            f"{prefix}_median": values.median(),
            f"{prefix}_p90": values.quantile(0.9),
            f"{prefix}_n": values.count(),
        }
    )
    out.index = keys.size().index[out.index]
    return out


def weekly_from_rollups(rows: pd.DataFrame, *, group_by: str) -> pd.DataFrame:
    """The weekly table (compute.WEEKLY_COLUMNS) from rollup rows that carry the ``group_by`` column."""
    if rows.empty:
        return pd.DataFrame(columns=WEEKLY_COLUMNS)
    rows = rows.assign(group=rows[group_by].replace("", np.nan).fillna("unknown"))
    grouped = rows.groupby(["week", "group"])
    counts = grouped[["deployments", "completed", "failed", "incidents", "friction", "friction_minutes"]].sum()
    # Deploy days: a weekday is in the group's week if any row has its bit (grouped max, vectorised).
    masks = rows["deploy_days_mask"].to_numpy(dtype=np.int64)
    bits = pd.DataFrame({day: (masks >> day) & 1 for day in range(7)}, index=rows.index)
    days = bits.groupby([rows["week"], rows["group"]]).max().sum(axis=1).rename("deploy_days")
    out = (
        counts.join(days)
        .join(_samples(rows, "lead_seconds", "lead"))
        .join(_samples(rows, "restore_seconds", "restore"))
    )
    out = out.reset_index().rename(
        columns={
            "completed": "completed_deployments",
            "failed": "failed_deployments",
            "friction_minutes": "friction_minutes_lost",
            "lead_median": "lead_time_median_seconds",
            "lead_p90": "lead_time_p90_seconds",
            "lead_n": "lead_time_n",
            "restore_median": "time_to_restore_median_seconds",
        }
    )
    out["lead_time_n"] = out["lead_time_n"].fillna(0).astype(int)
    out["restore_n"] = out["restore_n"].fillna(0).astype(int)
    completed = out["completed_deployments"].where(out["completed_deployments"] > 0)
    out["change_failure_rate"] = out["failed_deployments"] / completed
    return out[WEEKLY_COLUMNS].sort_values(["week", "group"]).reset_index(drop=True)
