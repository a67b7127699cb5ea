"""Weekly metric rules (docs/metrics.md), as pure functions over DataFrames. No I/O here.

Input frames (timestamps are tz-aware UTC); each carries the grouping columns service, team, platform, cohort:
- deployments: id, environment, status, finished_at, is_rollback, rollback_of_id
- lead_times: deployment_id, committed_at, finished_at, excluded (None, or why the pair does not count)
- incidents: id, severity, started_at, resolved_at, caused_by_deployment_id
- friction: id, created_at, category, minutes_lost, status
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from service.core.vocab import CHANGE_CAUSED, DeploymentStatus
from service.core.weeks import week_label
from service.core.words import plural

FAILED_STATUSES = (DeploymentStatus.FAILURE, DeploymentStatus.ERROR)
COMPLETED_STATUSES = (DeploymentStatus.SUCCESS, *FAILED_STATUSES)
GROUPS = ("service", "team", "platform", "cohort")

WEEKLY_COLUMNS = [
    "week",
    "group",
    "deployments",
    "deploy_days",
    "lead_time_median_seconds",
    "lead_time_p90_seconds",
    "lead_time_n",
    "change_failure_rate",
    "failed_deployments",
    "completed_deployments",
    "time_to_restore_median_seconds",
    "restore_n",
    "incidents",
    "friction",
    "friction_minutes_lost",
]


@dataclass(frozen=True, slots=True)
class Frames:
    """The input frames of a window (above): what ``weekly`` and the rollups (``rollup.rollup``) count."""

    deployments: pd.DataFrame
    lead_times: pd.DataFrame
    incidents: pd.DataFrame
    friction: pd.DataFrame


def production(deployments: pd.DataFrame, environments: frozenset[str]) -> pd.DataFrame:
    """Completed deployments (success or failed) to a production environment."""
    completed = deployments["status"].isin(COMPLETED_STATUSES) & deployments["finished_at"].notna()
    return deployments[deployments["environment"].isin(environments) & completed]


def failed_deployment_ids(deployments: pd.DataFrame, incidents: pd.DataFrame) -> set[int]:
    """A deployment failed if its status says so, a rollback undid it, or an incident is linked to it — in
    these frames, or after them (``failed_later``, when the read of a window marked it)."""
    failed = set(deployments.loc[deployments["status"].isin(FAILED_STATUSES), "id"].astype(int))
    if "failed_later" in deployments:
        failed |= set(deployments.loc[deployments["failed_later"].astype(bool), "id"].astype(int))
    failed |= set(deployments["rollback_of_id"].dropna().astype(int))
    failed |= set(incidents["caused_by_deployment_id"].dropna().astype(int))
    return failed


def judged_production(deployments: pd.DataFrame, incidents: pd.DataFrame, environments: frozenset[str]) -> pd.DataFrame:
    """The production deployments (``production``), each with whether it ``failed`` (``failed_deployment_ids``)
    and whether it ``succeeded``: what the weekly table and the rollups both count."""
    prod = production(deployments, environments)
    failed = failed_deployment_ids(prod, incidents)
    return prod.assign(failed=prod["id"].isin(failed), succeeded=prod["status"].eq(DeploymentStatus.SUCCESS))


def counted_lead_seconds(lead_times: pd.DataFrame) -> pd.DataFrame:
    """Pairs that count, with their lead time in seconds: not excluded (first deployment, bot, merge
    commit) and positive (a commit after its deployment is a clock or data error)."""
    seconds = (lead_times["finished_at"] - lead_times["committed_at"]).dt.total_seconds()
    frame = lead_times.assign(seconds=seconds)
    return frame[frame["excluded"].isna() & (frame["seconds"] > 0)]


def _grouped(frame: pd.DataFrame, moment: str, group_by: str, tz: str) -> pd.DataFrame:
    return frame.assign(week=week_label(frame[moment], tz), group=frame[group_by].fillna("unknown"))


def weekly(frames: Frames, *, tz: str, environments: frozenset[str], group_by: str = "platform") -> pd.DataFrame:
    """One row per ISO week (in ``tz``) and group: the same figures /metrics/dora gives for one week."""
    incidents = frames.incidents
    prod = _grouped(judged_production(frames.deployments, incidents, environments), "finished_at", group_by, tz).assign(
        day=lambda f: f["finished_at"].dt.tz_convert(tz).dt.date,
    )
    per_week = prod.groupby(["week", "group"]).agg(
        deployments=("succeeded", "sum"),
        completed_deployments=("id", "count"),
        failed_deployments=("failed", "sum"),
        deploy_days=("day", lambda days: days[prod.loc[days.index, "succeeded"]].nunique()),
    )
    per_week["change_failure_rate"] = per_week["failed_deployments"] / per_week["completed_deployments"]

    leads = counted_lead_seconds(
        frames.lead_times.merge(prod[["id", "week", "group"]], left_on="deployment_id", right_on="id")
    )
    lead = leads.groupby(["week", "group"])["seconds"].agg(
        lead_time_median_seconds="median",
        lead_time_p90_seconds=lambda s: s.quantile(0.9),
        lead_time_n="count",
    )

    inc = _grouped(incidents, "started_at", group_by, tz)
    restore_seconds = (inc["resolved_at"] - inc["started_at"]).dt.total_seconds()
    inc = inc.assign(restore=restore_seconds.where(restore_seconds >= 0))  # negative spans: clock skew
    restore = inc.groupby(["week", "group"]).agg(
        incidents=("id", "count"),
        time_to_restore_median_seconds=("restore", "median"),
        restore_n=("restore", "count"),
    )

    felt = (
        _grouped(frames.friction, "created_at", group_by, tz)
        .groupby(["week", "group"])
        .agg(friction=("id", "count"), friction_minutes_lost=("minutes_lost", "sum"))
    )
    table = per_week.join(lead, how="outer").join(restore, how="outer").join(felt, how="outer").reset_index()
    counts = (
        "deployments",
        "deploy_days",
        "failed_deployments",
        "completed_deployments",
        "incidents",
        "lead_time_n",
        "restore_n",
        "friction",
        "friction_minutes_lost",
    )
    for column in counts:
        table[column] = table[column].fillna(0).astype(int)
    return table[WEEKLY_COLUMNS].sort_values(["week", "group"]).reset_index(drop=True)


def data_quality(
    deployments: pd.DataFrame, lead_times: pd.DataFrame, incidents: pd.DataFrame, *, environments: frozenset[str]
) -> list[dict[str, object]]:
    """Warnings that travel with the figures, so "no data" is not read as "good news"."""
    warnings: list[dict[str, object]] = []
    prod = production(deployments, environments)

    def warn(code: str, count: int, thing: str, rest: str, examples: list[str] | None = None) -> None:
        """``message`` is the whole sentence, its count and noun agreeing: "1 incident not linked …"."""
        if count:
            message = f"{plural(count, thing)} {rest}"
            warnings.append({"code": code, "message": message, "count": count, "examples": (examples or [])[:5]})

    unlinked = incidents["caused_by_deployment_id"].isna()
    if "category" in incidents:  # an infrastructure incident is no change failure: not one to link
        unlinked &= incidents["category"].isna() | incidents["category"].isin(CHANGE_CAUSED)
    warn(
        "incidents_unlinked",
        int(unlinked.sum()),
        "incident",
        "not linked to any deployment (change failure rate may be low)",
    )
    warn(
        "incidents_unresolved",
        int(incidents["resolved_at"].isna().sum()),
        "incident",
        "never resolved (not in time to restore)",
    )
    backwards = incidents["resolved_at"].notna() & (incidents["resolved_at"] < incidents["started_at"])
    warn(  # a vendor's payload (the generic form refuses them): kept, flagged, never silently dropped
        "incidents_resolved_before_started",
        int(backwards.sum()),
        "incident",
        "marked resolved before the start time (a sender's clock or bug): kept, not in time to restore",
        sorted(set(incidents.loc[backwards, "service"])),
    )
    no_deploys = sorted(set(incidents["service"]) - set(prod["service"]))
    warn(
        "services_without_deployments",
        len(no_deploys),
        "service",
        "with incidents but no production deployments",
        no_deploys,
    )
    uncatalogued = sorted(
        set(deployments.loc[deployments["team"].isna(), "service"])
        | set(incidents.loc[incidents["team"].isna(), "service"])
    )
    warn(
        "services_not_in_catalogue",
        len(uncatalogued),
        "service",
        "seen in events but with no team in the catalogue",
        uncatalogued,
    )
    shipped = set(lead_times["deployment_id"])
    bare = prod[prod["status"].eq(DeploymentStatus.SUCCESS) & ~prod["id"].isin(shipped)]
    warn(
        "deployments_without_commits",
        len(bare),
        "successful production deployment",
        "with no commits known (no lead time)",
    )
    return warnings
