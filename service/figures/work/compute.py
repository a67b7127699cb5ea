"""Time to ship, done-but-not-shipped and support load, as pure functions over DataFrames. No I/O here.

Definitions (docs/metrics.md, "Work items"):

- A **cycle** of an item starts at its first move into a started status (``in_progress``) and is
  closed by the first move into ``done`` or ``cancelled`` after it. A move into a started status after
  a closed cycle (a reopen) starts the next cycle.
- A cycle is **shipped** at the first successful production deployment, at or after the cycle's
  start and after the previous cycle's shipment, containing a change that references the item (or a
  child item): the ``shipments`` frame. **Time to ship** is shipped − started, in days.
- An item nothing references at all gets its done time instead, with ``basis = done_fallback`` (a
  data-quality warning). Items that are referenced but not deployed yet are "done but not shipped".

Input frames (timestamps tz-aware UTC):
- items: source, key, kind, status, service, team, parent, created_at, deleted_at
- history: source, key, status, changed_at
- shipments: key, finished_at, service, platform (production deployments naming the key directly)
- references: key (every key anything names, deployed or not)
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from service.core.words import plural

SAMPLE_COLUMNS = [
    "source",
    "key",
    "kind",
    "service",
    "team",
    "platform",
    "cycle",
    "started_at",
    "shipped_at",
    "done_at",
    "days",
    "basis",
]
DAY_SECONDS = 86_400.0
_MAX_PARENT_DEPTH = 5


@dataclass(frozen=True, slots=True)
class Cycle:
    started_at: datetime | None
    closed_at: datetime | None = None
    closed_as: str | None = None


def cycles(points: Iterable[tuple[datetime, str]]) -> list[Cycle]:
    """An item's cycles from its status history (any order; sorted here by time)."""
    found: list[Cycle] = []
    current: Cycle | None = None
    for moment, status in sorted(points, key=lambda point: point[0]):
        if status == "in_progress":
            if current is None:
                current = Cycle(moment)
            elif current.closed_at is not None:  # reopened and started again
                found.append(current)
                current = Cycle(moment)
        elif status in ("done", "cancelled"):
            if current is None:
                current = Cycle(None, moment, status)  # finished without ever being started
            elif current.closed_at is None:
                current = Cycle(current.started_at, moment, status)
    if current is not None:
        found.append(current)
    return found


def inherited_shipments(items: pd.DataFrame, shipments: pd.DataFrame) -> pd.DataFrame:
    """Shipments of each key, plus those of its children (and their children): a parent ships with its
    first shipped child."""
    parents = {
        str(key): str(parent)
        for key, parent in zip(items["key"], items["parent"], strict=True)
        if isinstance(parent, str) and parent
    }
    frames = [shipments]
    level = shipments
    for _ in range(_MAX_PARENT_DEPTH):
        lifted = level.assign(key=level["key"].map(parents)).dropna(subset=["key"])
        if lifted.empty:
            break
        frames.append(lifted)
        level = lifted
    return pd.concat(frames, ignore_index=True).drop_duplicates()


def time_to_ship(
    items: pd.DataFrame, history: pd.DataFrame, shipments: pd.DataFrame, references: pd.DataFrame
) -> pd.DataFrame:
    """One row per shipped (or done-fallback) cycle: SAMPLE_COLUMNS. Deleted items are left out."""
    all_shipments = inherited_shipments(items, shipments).sort_values("finished_at", kind="stable")
    by_key: dict[str, list[tuple[pd.Timestamp, Any, Any]]] = {}
    for key, finished, service, platform in zip(
        all_shipments["key"],
        all_shipments["finished_at"],
        all_shipments["service"],
        all_shipments["platform"],
        strict=True,
    ):
        by_key.setdefault(key, []).append((finished, service, platform))
    referenced = set(references["key"]) | set(by_key)
    points = _points(history)
    rows: list[tuple[Any, ...]] = []
    for item in _records(items):
        if isinstance(item["deleted_at"], pd.Timestamp):
            continue
        shipped = by_key.get(item["key"], [])
        moments = [moment for moment, _, _ in shipped]
        previous: pd.Timestamp | None = None
        head = (item["source"], item["key"], item["kind"])
        for number, cycle in enumerate(cycles(points.get((item["source"], item["key"]), [])), start=1):
            if cycle.started_at is None:
                continue
            start = pd.Timestamp(cycle.started_at)
            done_at = pd.Timestamp(cycle.closed_at) if cycle.closed_as == "done" and cycle.closed_at else pd.NaT
            index = bisect_left(moments, start)
            if previous is not None:
                index = max(index, bisect_right(moments, previous))
            if index < len(shipped):
                finished, service, platform = shipped[index]
                previous = finished
                own = item["service"] if isinstance(item["service"], str) else service
                days = (finished - start).total_seconds() / DAY_SECONDS
                rows.append((*head, own, item["team"], platform, number, start, finished, done_at, days, "shipped"))
            elif item["key"] not in referenced and cycle.closed_as == "done" and cycle.closed_at is not None:
                done = pd.Timestamp(cycle.closed_at)
                days = (done - start).total_seconds() / DAY_SECONDS
                row = (
                    *head,
                    item["service"],
                    item["team"],
                    None,
                    number,
                    start,
                    pd.NaT,
                    done,
                    days,
                    "done_fallback",
                )
                rows.append(row)
    frame = pd.DataFrame(rows, columns=SAMPLE_COLUMNS)
    for name in ("started_at", "shipped_at", "done_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    frame["days"] = frame["days"].astype(float)
    return frame


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(name): value for name, value in row.items()} for row in frame.to_dict("records")]


def _points(history: pd.DataFrame) -> dict[tuple[str, str], list[tuple[datetime, str]]]:
    points: dict[tuple[str, str], list[tuple[datetime, str]]] = {}
    for source, key, status, moment in zip(
        history["source"], history["key"], history["status"], history["changed_at"], strict=True
    ):
        points.setdefault((source, key), []).append((moment, status))
    return points


def done_not_shipped(
    items: pd.DataFrame,
    history: pd.DataFrame,
    shipments: pd.DataFrame,
    references: pd.DataFrame,
    *,
    now: datetime,
) -> pd.DataFrame:
    """Items done in the tracker whose latest cycle has not shipped: key, service, done_at, age_days,
    referenced (False: nothing names the item, so it can never be seen shipping). Support tickets are
    resolved, not shipped: they are not listed."""
    samples = time_to_ship(items, history, shipments, references)
    shipped_cycles = set(zip(samples.loc[samples["basis"] == "shipped", "key"], samples["cycle"], strict=False))
    points = _points(history)
    referenced = set(references["key"])
    rows = []
    for item in _records(items):
        if item["status"] != "done" or item["kind"] == "support" or isinstance(item["deleted_at"], pd.Timestamp):
            continue
        found = cycles(points.get((item["source"], item["key"]), []))
        if not found or found[-1].closed_as != "done" or found[-1].closed_at is None:
            continue
        if (item["key"], len(found)) in shipped_cycles:
            continue
        done = pd.Timestamp(found[-1].closed_at)
        rows.append(
            {
                "source": item["source"],
                "key": item["key"],
                "kind": item["kind"],
                "service": item["service"],
                "done_at": done,
                "age_days": (pd.Timestamp(now) - done).total_seconds() / DAY_SECONDS,
                "referenced": item["key"] in referenced,
            }
        )
    return pd.DataFrame(rows, columns=["source", "key", "kind", "service", "done_at", "age_days", "referenced"])


def support_tickets(items: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Support tickets: key, service, team, opened_at (created, else first seen), resolved_at (the last
    move into done or cancelled, when that is the current status), resolve_days."""
    support = items[(items["kind"] == "support") & items["deleted_at"].isna()]
    first_seen = history.groupby(["source", "key"])["changed_at"].min()
    closed = history[history["status"].isin(("done", "cancelled"))].groupby(["source", "key"])["changed_at"].max()
    rows = []
    for item in _records(support):
        opened = (
            item["created_at"]
            if isinstance(item["created_at"], pd.Timestamp)
            else first_seen.get((item["source"], item["key"]))
        )
        if opened is None or (isinstance(opened, float) and math.isnan(opened)):
            continue
        resolved = closed.get((item["source"], item["key"])) if item["status"] in ("done", "cancelled") else None
        rows.append(
            {
                "source": item["source"],
                "key": item["key"],
                "service": item["service"],
                "team": item["team"],
                "opened_at": opened,
                "resolved_at": resolved,
                "resolve_days": (resolved - opened).total_seconds() / DAY_SECONDS if resolved is not None else math.nan,
            }
        )
    frame = pd.DataFrame(rows, columns=["source", "key", "service", "team", "opened_at", "resolved_at", "resolve_days"])
    for name in ("opened_at", "resolved_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    frame["resolve_days"] = frame["resolve_days"].astype(float)
    return frame


AGE_BUCKETS = ((7, "under_7_days"), (30, "7_to_30_days"), (math.inf, "over_30_days"))


def open_by_age(tickets: pd.DataFrame, *, now: datetime) -> dict[str, int]:
    """Open support tickets counted by age: under 7 days, 7–30, over 30."""
    counts = {label: 0 for _, label in AGE_BUCKETS}
    open_ = tickets[tickets["resolved_at"].isna()]
    for opened in open_["opened_at"]:
        age = (pd.Timestamp(now) - opened).total_seconds() / DAY_SECONDS
        counts[next(label for limit, label in AGE_BUCKETS if age < limit)] += 1
    return counts


def warnings(samples: pd.DataFrame, history: pd.DataFrame, items: pd.DataFrame) -> list[dict[str, object]]:
    """Data-quality warnings for work items, in the shape of ``metrics.compute.data_quality``."""
    found: list[dict[str, object]] = []
    fallback = int((samples["basis"] == "done_fallback").sum())
    if fallback:
        found.append(
            {
                "code": "time_to_ship_done_fallback",
                "count": fallback,
                "message": f"{plural(fallback, 'time-to-ship figure')} ending at 'done' in the tracker: nothing "
                "(commit, branch, pull request or deployment) names those items, so their shipment cannot be seen",
            }
        )
    points = _points(history)
    never = sum(
        True
        for item in _records(items)
        if item["kind"] == "feature"
        and item["status"] == "done"
        and all(c.started_at is None for c in cycles(points.get((item["source"], item["key"]), [])))
    )
    if never:
        found.append(
            {
                "code": "time_to_ship_never_started",
                "count": never,
                "message": f"{plural(never, 'feature')} done without a started status: no time to ship for them",
            }
        )
    return found
