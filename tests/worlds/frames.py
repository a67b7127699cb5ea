"""A generated world (``tests.worlds.world``) as the raw frames the digest loads — cost lines, GPU and
cold-start measurements, shipped features, support tickets, classified incidents — so a test or the
bench can run the digest's own builders and estimator over data with a known truth, not only the
estimator over a ready-made panel.

Each (service, week) of a metric's world panel becomes rows whose builder gives back exactly that value
and weight: a week's compute bill is one cost line over the week; GPU utilisation is ``weight`` GPU
hours provisioned and ``value × weight`` used; a cold-start p95 is one measurement; a time to ship is
``weight`` features shipped that Wednesday, each taking ``value`` days; a count is that many tickets or
incidents on the week's Wednesday.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd

from service.effects import resource_panels as resources
from tests.worlds.world import World, generate

MIDWEEK = timedelta(days=2, hours=12)


def _monday(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


def _rows(key: str, panel: pd.DataFrame) -> tuple[str, list[dict[str, object]]]:
    rows: list[dict[str, object]] = []
    live = panel[panel["value"].notna() & (panel["weight"] > 0)]
    for service, week, value, weight in live[["service", "week_start", "value", "weight"]].itertuples(index=False):
        start = _monday(week)
        end = start + timedelta(weeks=1)
        if key == "compute_cost":
            rows.append(
                {
                    "source": "generic",
                    "service": service,
                    "team": None,
                    "platform": None,
                    "category": "compute",
                    "period_start": start,
                    "period_end": end,
                    "amount": value,
                    "currency": "USD",
                }
            )
        elif key in ("gpu_utilisation", "cold_start_p95"):
            pairs = (
                [("gpu_hours_provisioned", weight), ("gpu_hours_used", value * weight)]
                if key == "gpu_utilisation"
                else [("cold_start_seconds", value)]
            )
            for metric, amount in pairs:
                rows.append(
                    {
                        "service": service,
                        "team": None,
                        "platform": None,
                        "metric": metric,
                        "value": amount,
                        "unit": None,
                        "period_start": start,
                        "period_end": end,
                    }
                )
        elif key == "time_to_ship":
            shipped = start + MIDWEEK
            for i in range(int(weight)):
                rows.append(
                    {
                        "source": "generic",
                        "key": f"{service}-{week:%Y%m%d}-{i}",
                        "kind": "feature",
                        "service": service,
                        "team": None,
                        "platform": None,
                        "cycle": 1,
                        "started_at": shipped - timedelta(days=float(value)),
                        "shipped_at": shipped,
                        "done_at": shipped,
                        "days": float(value),
                        "basis": "shipped",
                    }
                )
        else:
            moment = start + MIDWEEK
            for i in range(int(value)):
                if key == "support_tickets":
                    rows.append({"key": f"{service}-{week:%Y%m%d}-{i}", "service": service, "opened_at": moment})
                else:
                    category = "infrastructure" if key == "infra_incidents" else "application"
                    rows.append({"service": service, "started_at": moment, "category": category})
    frame = {
        "compute_cost": resources.COSTS,
        "gpu_utilisation": resources.MEASUREMENTS,
        "cold_start_p95": resources.MEASUREMENTS,
        "time_to_ship": resources.WORK_SAMPLES,
        "support_tickets": resources.SUPPORT_TICKETS,
        "infra_incidents": resources.CLASSIFIED_INCIDENTS,
        "app_incidents": resources.CLASSIFIED_INCIDENTS,
    }[key]
    return frame, rows


def raw_frames(
    worlds: Mapping[str, World], seed: int
) -> tuple[dict[str, pd.DataFrame], dict[str, datetime | None], date, date]:
    """(frames by name, each service's move, first Monday, the Monday after the last week) of a world
    whose metrics ``worlds`` share their services and moves (each metric drawn with its own seed)."""
    collected: dict[str, list[dict[str, object]]] = {}
    moves: dict[str, datetime | None] = {}
    weeks: list[date] = []
    for offset, (key, spec) in enumerate(sorted(worlds.items())):
        panel, first = generate(spec, seed * 100 + offset)
        moves.update({s: None if day is None else _monday(day) for s, day in first.items()})
        weeks += list(panel["week_start"])
        name, rows = _rows(key, panel)
        collected.setdefault(name, []).extend(rows)
    frames = {name: pd.DataFrame(rows) for name, rows in collected.items()}
    for frame in frames.values():
        for column in ("period_start", "period_end", "started_at", "shipped_at", "done_at", "opened_at"):
            if column in frame:
                frame[column] = pd.to_datetime(frame[column], utc=True)
    return frames, moves, min(weeks), max(weeks) + timedelta(weeks=1)
