"""Work metrics in the weekly table (``/api/v1/metrics/weekly`` and its CSV): time to ship, support
tickets and incidents by category, per ISO week (configured zone) and group, beside the DORA columns.

``weekly_work`` is pure; ``load_weekly_work`` reads the frames. A time-to-ship figure belongs to the week
it shipped in (its done week for a done fallback, counted apart in ``time_to_ship_fallback_n``).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlmodel import Session, col, select

from service.core.models import PlatformAssignment
from service.core.weeks import week_label
from service.figures.catalogue import platform_at
from service.figures.cohort import with_cohort
from service.figures.filters import Filters, migrated_platforms
from service.figures.work.compute import support_tickets, time_to_ship
from service.figures.work.service import load_incidents, load_work, service_teams

WORK_COLUMNS = [
    "time_to_ship_mean_days",
    "time_to_ship_median_days",
    "time_to_ship_n",
    "time_to_ship_fallback_n",
    "support_tickets_opened",
    "support_resolve_median_days",
    "support_resolved_n",
    "infra_incidents",
    "app_incidents",
    "unknown_incidents",
]
COUNTS = [
    "time_to_ship_n",
    "time_to_ship_fallback_n",
    "support_tickets_opened",
    "support_resolved_n",
    "infra_incidents",
    "app_incidents",
    "unknown_incidents",
]


def _grouped(frame: pd.DataFrame, moment: str, group_by: str, tz: str) -> pd.DataFrame:
    rows = frame[frame[moment].notna()]
    return rows.assign(week=week_label(rows[moment], tz), group=rows[group_by].fillna("unknown"))


def weekly_work(
    samples: pd.DataFrame, tickets: pd.DataFrame, incidents: pd.DataFrame, *, tz: str, group_by: str
) -> pd.DataFrame:
    """week, group and WORK_COLUMNS. Each frame carries the ``group_by`` column (service, team, platform, cohort)."""
    features = samples[samples["kind"] == "feature"]
    shipped = _grouped(features[features["basis"] == "shipped"], "shipped_at", group_by, tz)
    fallback = _grouped(features[features["basis"] == "done_fallback"], "done_at", group_by, tz)
    keys = ["week", "group"]
    parts = [
        shipped.groupby(keys)["days"].agg(time_to_ship_mean_days="mean", time_to_ship_median_days="median"),
        shipped.groupby(keys).size().rename("time_to_ship_n"),
        fallback.groupby(keys).size().rename("time_to_ship_fallback_n"),
        _grouped(tickets, "opened_at", group_by, tz).groupby(keys).size().rename("support_tickets_opened"),
    ]
    resolved = _grouped(tickets, "resolved_at", group_by, tz)
    parts.append(
        resolved.groupby(keys)["resolve_days"].agg(support_resolve_median_days="median", support_resolved_n="count")
    )
    counted = _grouped(incidents, "started_at", group_by, tz)
    for category, name in (("infrastructure", "infra"), ("application", "app"), ("unknown", "unknown")):
        chosen = counted[counted["category"] == category]
        parts.append(chosen.groupby(keys).size().rename(f"{name}_incidents"))
    table = pd.concat([part.to_frame() if isinstance(part, pd.Series) else part for part in parts], axis=1)
    table = table.reindex(columns=WORK_COLUMNS)
    if table.empty:
        return pd.DataFrame(columns=["week", "group", *WORK_COLUMNS])
    table[COUNTS] = table[COUNTS].fillna(0).astype(int)
    return table.reset_index().sort_values(keys).reset_index(drop=True)


def _attach(
    frame: pd.DataFrame,
    moment: str,
    teams: dict[str, str | None],
    history: dict[str, list[PlatformAssignment]],
    migrated: set[str],
) -> pd.DataFrame:
    frame = frame.copy()
    if "team" not in frame or frame["team"].isna().all():
        frame["team"] = frame["service"].map(teams)
    else:
        frame["team"] = frame["team"].fillna(frame["service"].map(teams))
    known = frame["platform"] if "platform" in frame else pd.Series([None] * len(frame), index=frame.index)
    at = [
        platform
        if isinstance(platform, str)
        else platform_at(history.get(service, []), when.to_pydatetime() if isinstance(when, pd.Timestamp) else None)
        for platform, service, when in zip(known, frame["service"], frame[moment], strict=True)
    ]
    frame["platform"] = at
    return with_cohort(frame, migrated)


def _filtered(frame: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    for name in ("service", "team", "platform"):
        wanted = getattr(filters, name)
        if wanted:
            frame = frame[frame[name] == wanted]
    return frame


def load_weekly_work(
    session: Session,
    *,
    tz: str,
    group_by: str,
    environments: frozenset[str],
    filters: Filters,
    start: datetime | None,
    end: datetime | None,
) -> pd.DataFrame:
    work = load_work(session, environments=environments)
    teams = service_teams(session)
    history: dict[str, list[PlatformAssignment]] = {}
    for period in session.exec(select(PlatformAssignment).order_by(col(PlatformAssignment.effective_from))):
        history.setdefault(period.service, []).append(period)
    migrated = migrated_platforms(session)
    samples = time_to_ship(work.items, work.history, work.shipments, work.references)
    samples = samples.assign(moment=samples["shipped_at"].fillna(samples["done_at"]))
    tickets = support_tickets(work.items, work.history)

    def mine(frame: pd.DataFrame) -> pd.DataFrame:  # one service's rows before the platform lookups
        return frame[frame["service"] == filters.service] if filters.service else frame

    frames = [
        _attach(mine(samples), "moment", teams, history, migrated),
        _attach(mine(tickets.assign(platform=None)), "opened_at", teams, history, migrated),
        _attach(load_incidents(session, service=filters.service), "started_at", teams, history, migrated),
    ]
    moments = ("moment", "opened_at", "started_at")
    inside = []
    for frame, moment in zip(frames, moments, strict=True):
        frame = _filtered(frame, filters)
        if start is not None:
            frame = frame[frame[moment] >= pd.Timestamp(start)]
        if end is not None:
            frame = frame[frame[moment] < pd.Timestamp(end)]
        inside.append(frame)
    return weekly_work(inside[0], inside[1], inside[2], tz=tz, group_by=group_by)
