"""The metric rules (docs/metrics.md), as pure functions over DataFrames. No I/O here.

Input frames (timestamps are tz-aware UTC):
- deployments: id, service, environment, status, finished_at, platform, is_rollback, rollback_of_id
- lead_times: deployment_id, committed_at, finished_at, excluded (None, or why the pair does not count)
- incidents: id, service, started_at, resolved_at, platform, caused_by_deployment_id
- friction: id, service, created_at, platform, category, minutes_lost, status
"""

from __future__ import annotations

import pandas as pd

FAILED_STATUSES = ("failure", "error")
COMPLETED_STATUSES = ("success", "failure", "error")

WEEKLY_COLUMNS = [
    "week",
    "group",
    "deployments",
    "deploy_days",
    "lead_time_median_h",
    "lead_time_n",
    "change_failure_rate",
    "failed_deployments",
    "incidents",
    "time_to_restore_median_h",
    "friction",
    "friction_hours_lost",
]


def week_label(moments: pd.Series, tz: str) -> pd.Series:
    """ISO week labels (``2026-W47``) of UTC instants, seen in the zone ``tz``."""
    local = moments.dt.tz_convert(tz)
    iso = local.dt.isocalendar()
    labels: pd.Series = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    return labels


def production(deployments: pd.DataFrame, environments: frozenset[str]) -> pd.DataFrame:
    completed = deployments["status"].isin(COMPLETED_STATUSES) & deployments["finished_at"].notna()
    return deployments[deployments["environment"].isin(environments) & completed]


def failed_deployment_ids(deployments: pd.DataFrame, incidents: pd.DataFrame) -> set[int]:
    """A deployment failed if its status says so, a rollback undid it, or an incident is linked to it."""
    failed = set(deployments.loc[deployments["status"].isin(FAILED_STATUSES), "id"].astype(int))
    failed |= set(deployments["rollback_of_id"].dropna().astype(int))
    failed |= set(incidents["caused_by_deployment_id"].dropna().astype(int))
    return failed


def lead_time_hours(lead_times: pd.DataFrame) -> pd.DataFrame:
    """Hours from commit to the deployment that first shipped it; excluded pairs (first deployment, bot,
    merge commit) and non-positive spans are dropped."""
    hours = (lead_times["finished_at"] - lead_times["committed_at"]).dt.total_seconds() / 3600.0
    frame = lead_times.assign(hours=hours)
    counted = frame["excluded"].isna() if "excluded" in frame else True
    return frame[counted & (frame["hours"] > 0)]


def weekly(
    deployments: pd.DataFrame,
    lead_times: pd.DataFrame,
    incidents: pd.DataFrame,
    friction: pd.DataFrame,
    *,
    tz: str,
    environments: frozenset[str],
    group_by: str = "platform",
) -> pd.DataFrame:
    """One row per ISO week and group: the DORA keys and incident counts (see WEEKLY_COLUMNS)."""
    prod = production(deployments, environments)
    failed = failed_deployment_ids(prod, incidents)
    prod = prod.assign(
        week=week_label(prod["finished_at"], tz),
        group=prod[group_by].fillna("unknown"),
        day=prod["finished_at"].dt.tz_convert(tz).dt.date,
        failed=prod["id"].isin(failed),
        succeeded=prod["status"].eq("success"),
    )
    per_week = prod.groupby(["week", "group"]).agg(
        deployments=("succeeded", "sum"),
        completed=("id", "count"),
        failed_deployments=("failed", "sum"),
        deploy_days=("day", "nunique"),
    )
    per_week["change_failure_rate"] = per_week["failed_deployments"] / per_week["completed"]

    leads = lead_time_hours(lead_times.merge(prod[["id", "week", "group"]], left_on="deployment_id", right_on="id"))
    lead = leads.groupby(["week", "group"])["hours"].agg(lead_time_median_h="median", lead_time_n="count")

    inc = incidents.assign(
        week=week_label(incidents["started_at"], tz),
        group=incidents[group_by].fillna("unknown") if group_by in incidents else "unknown",
        restore_h=(incidents["resolved_at"] - incidents["started_at"]).dt.total_seconds() / 3600.0,
    )
    restore = inc.groupby(["week", "group"]).agg(
        incidents=("id", "count"), time_to_restore_median_h=("restore_h", "median")
    )
    reports = friction.assign(
        week=week_label(friction["created_at"], tz),
        group=friction[group_by].fillna("unknown") if group_by in friction else "unknown",
        hours=friction["minutes_lost"].astype(float) / 60.0,
    )
    felt = reports.groupby(["week", "group"]).agg(friction=("id", "count"), friction_hours_lost=("hours", "sum"))
    table = per_week.join(lead, how="outer").join(restore, how="outer").join(felt, how="outer").reset_index()
    table["friction_hours_lost"] = table["friction_hours_lost"].fillna(0.0)
    for column in ("deployments", "deploy_days", "failed_deployments", "incidents", "lead_time_n", "friction"):
        table[column] = table[column].fillna(0).astype(int)
    return table[WEEKLY_COLUMNS].sort_values(["week", "group"]).reset_index(drop=True)
