"""Lead time by stage: where a pull request's time from first commit to production goes. Pure.

One unit is a pull (merge) request shipped by a production deployment, taken from the very commit → deployment
pairs that lead time counts (``compute.counted_lead_seconds``: not excluded, not after their deployment), so
the stages and lead time never disagree about what shipped:

- **coding**: its earliest counted commit → the request opened;
- **review**: opened → merged;
- **deploy**: merged → the production deployment that shipped it finished.

A stage whose end is before its start (commits rebased after the request was opened, clock skew) or whose
ends are unknown (a vendor that does not send when a request was opened) is not counted; its ``_n`` says
how many were. Commits pushed without a request have no review stage and are counted apart
(``commits_without_request``). Definitions: docs/metrics.md, "Lead time by stage".
"""

from __future__ import annotations

import pandas as pd

from service.core.weeks import week_label
from service.figures.metrics.compute import counted_lead_seconds, production

STAGES: dict[str, tuple[str, str]] = {
    "coding": ("first_commit", "opened_at"),
    "review": ("opened_at", "merged_at"),
    "deploy": ("merged_at", "finished_at"),
}
"""Each stage's start and end column."""

COLUMNS = [
    "week",
    "group",
    "requests",
    *(f"{stage}_{part}" for stage in STAGES for part in ("median_seconds", "p90_seconds", "n")),
    "commits_without_request",
]


def request_stages(pairs: pd.DataFrame) -> pd.DataFrame:
    """``pairs``: deployment_id, committed_at, finished_at, excluded, repository, pr_number, opened_at,
    merged_at (plus any columns constant per deployment, e.g. week and group). One row per (deployment,
    request) with each stage's seconds (NaN where it is not counted)."""
    counted = counted_lead_seconds(pairs)
    requested = counted[counted["pr_number"].notna()]
    keys = ["deployment_id", "repository", "pr_number"]
    constant = [c for c in requested.columns if c in ("week", "group")]
    rows = requested.groupby(keys, as_index=False).agg(
        first_commit=("committed_at", "min"),
        opened_at=("opened_at", "first"),
        merged_at=("merged_at", "first"),
        finished_at=("finished_at", "first"),
        **{c: (c, "first") for c in constant},
    )
    for stage, (start, end) in STAGES.items():
        seconds = (pd.to_datetime(rows[end], utc=True) - pd.to_datetime(rows[start], utc=True)).dt.total_seconds()
        rows[stage] = seconds.where(seconds >= 0)
    return rows


def weekly_stages(
    deployments: pd.DataFrame, pairs: pd.DataFrame, *, tz: str, environments: frozenset[str], group_by: str
) -> pd.DataFrame:
    """One row per ISO week (of the deployment, in ``tz``) and group: COLUMNS."""
    prod = production(deployments, environments)
    prod = prod.assign(week=week_label(prod["finished_at"], tz), group=prod[group_by].fillna("unknown"))
    located = pairs.merge(prod[["id", "week", "group"]], left_on="deployment_id", right_on="id")
    rows = request_stages(located)
    counted = counted_lead_seconds(located)
    direct = counted[counted["pr_number"].isna()].groupby(["week", "group"]).size().rename("commits_without_request")
    if rows.empty and direct.empty:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in COLUMNS})
    per_week = rows.groupby(["week", "group"]).agg(
        requests=("deployment_id", "size"),
        **{
            f"{stage}_{name}": (stage, how)
            for stage in STAGES
            for name, how in (("median_seconds", "median"), ("p90_seconds", lambda s: s.quantile(0.9)), ("n", "count"))
        },
    )
    table = per_week.join(direct, how="outer").reset_index()
    table["requests"] = table["requests"].fillna(0).astype(int)
    table["commits_without_request"] = table["commits_without_request"].fillna(0).astype(int)
    for stage in STAGES:
        table[f"{stage}_n"] = table[f"{stage}_n"].fillna(0).astype(int)
    return table[COLUMNS].sort_values(["week", "group"]).reset_index(drop=True)
