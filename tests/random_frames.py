"""Random raw frames (deployments, lead times, incidents, friction) over six weeks for six services: what the
rollup equivalence tests compare the raw and the rollup paths on."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pandas as pd

START = datetime(2026, 9, 7, tzinfo=UTC)


def random_frames(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = random.Random(seed)
    services = {f"s{i}": (f"team-{i % 3}", rng.choice(["legacy", "new"])) for i in range(6)}
    deployments, leads = [], []
    incidents: list[tuple[object, ...]] = []
    friction: list[tuple[object, ...]] = []
    for i in range(300):
        service = rng.choice(list(services))
        team, platform = services[service]
        finished = START + timedelta(minutes=rng.randint(0, 6 * 7 * 24 * 60))
        status = rng.choice(["success"] * 6 + ["failure", "error", "in_progress", "cancelled"])
        env = rng.choice(["production"] * 5 + ["staging"])
        rollback = i - rng.randint(1, 5) if rng.random() < 0.05 and i > 5 else None
        deployments.append(
            (
                i,
                service,
                team,
                env,
                status,
                finished,
                platform,
                rollback is not None,
                rollback,
                "migrated" if platform == "new" else "not_migrated",
            )
        )
        for _ in range(rng.randint(0, 3)):
            excluded = rng.choice([None] * 8 + ["bot", "first_deployment"])
            leads.append((i, finished - timedelta(hours=rng.uniform(-2, 60)), finished, excluded))
        if rng.random() < 0.1:
            started = finished + timedelta(minutes=rng.randint(1, 600))
            resolved = started + timedelta(minutes=rng.randint(-5, 300)) if rng.random() < 0.8 else None
            incidents.append(
                (
                    len(incidents),
                    service,
                    team,
                    "sev2",
                    started,
                    resolved,
                    platform,
                    i if rng.random() < 0.5 else None,
                    "migrated" if platform == "new" else "not_migrated",
                )
            )
        if rng.random() < 0.2:
            friction.append(
                (
                    len(friction),
                    service,
                    team,
                    finished,
                    None,
                    platform,
                    "build_ci",
                    rng.choice([None, 15, 60]),
                    "open",
                    "migrated" if platform == "new" else "not_migrated",
                )
            )
    d = pd.DataFrame(
        deployments,
        columns=[
            "id",
            "service",
            "team",
            "environment",
            "status",
            "finished_at",
            "platform",
            "is_rollback",
            "rollback_of_id",
            "cohort",
        ],
    )
    lead = pd.DataFrame(leads, columns=["deployment_id", "committed_at", "finished_at", "excluded"])
    inc = pd.DataFrame(
        incidents,
        columns=[
            "id",
            "service",
            "team",
            "severity",
            "started_at",
            "resolved_at",
            "platform",
            "caused_by_deployment_id",
            "cohort",
        ],
    )
    fr = pd.DataFrame(
        friction,
        columns=[
            "id",
            "service",
            "team",
            "created_at",
            "resolved_at",
            "platform",
            "category",
            "minutes_lost",
            "status",
            "cohort",
        ],
    )
    for frame, columns in (
        (d, ["finished_at"]),
        (lead, ["committed_at", "finished_at"]),
        (inc, ["started_at", "resolved_at"]),
        (fr, ["created_at", "resolved_at"]),
    ):
        for column in columns:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return d, lead, inc, fr
