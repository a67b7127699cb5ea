"""A year of data for many services, bulk-loaded straight into PostgreSQL (COPY) for the metrics benches.

Deployments with their commits and commit links, incidents linked to some deployments, friction
reports: by default 200 services × 52 weeks, over a million rows in all.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from service.migrations import upgrade

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True, slots=True)
class Loaded:
    url: str
    database: str
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _copy(connection: psycopg.Connection, table: str, columns: list[str], rows: Sequence[tuple[object, ...]]) -> None:
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def create(services: int = 200, weeks: int = 52, deploys_per_week: int = 20, commits: int = 4, seed: int = 5) -> Loaded:
    name = f"frictionlog_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    upgrade(url)
    rng = random.Random(seed)
    end = datetime(2026, 11, 23, tzinfo=UTC)
    start = end - timedelta(weeks=weeks)
    slugs = [f"svc-{i:03d}" for i in range(services)]
    moved = {s: start + timedelta(weeks=rng.randint(4, weeks + 8)) for s in slugs}
    service_rows = [(s, f"team-{i % 20}", "2", start) for i, s in enumerate(slugs)]
    assignments = [(s, "legacy", start - timedelta(days=400)) for s in slugs]
    assignments += [(s, "new", moved[s]) for s in slugs if moved[s] < end]
    deployments, changes, links, incidents = [], [], [], []
    friction: list[tuple[object, ...]] = []
    deployment_id = change_id = incident_id = 0
    for s in slugs:
        for week in range(weeks):
            week_start = start + timedelta(weeks=week)
            on_new = moved[s] <= week_start
            for _ in range(deploys_per_week if on_new else deploys_per_week // 2):
                deployment_id += 1
                finished = week_start + timedelta(seconds=rng.randint(0, 7 * 86400 - 1))
                status = "failure" if rng.random() < (0.05 if on_new else 0.15) else "success"
                deployments.append(
                    (
                        deployment_id,
                        "bench",
                        f"d{deployment_id}",
                        s,
                        "production",
                        status,
                        finished - timedelta(minutes=10),
                        finished,
                        "new" if on_new else "legacy",
                        False,
                    )
                )
                for _ in range(commits):
                    change_id += 1
                    lead = timedelta(hours=rng.lognormvariate(1.8 if on_new else 3.5, 0.7))
                    changes.append((change_id, f"{change_id:040x}", f"acme/{s}", s, finished - lead))
                    links.append((deployment_id, change_id))
                if status == "success" and rng.random() < 0.03:
                    incident_id += 1
                    started = finished + timedelta(minutes=rng.randint(5, 300))
                    restore = timedelta(minutes=rng.lognormvariate(4 if not on_new else 3, 0.6))
                    incidents.append(
                        (
                            incident_id,
                            "bench",
                            f"i{incident_id}",
                            s,
                            "resolved",
                            "sev2",
                            started,
                            started + restore,
                            "new" if on_new else "legacy",
                            deployment_id,
                            "window",
                        )
                    )
            for _ in range(rng.randint(0, 2)):
                friction.append(
                    (
                        len(friction) + 1,
                        "api",
                        f"U{rng.randint(1, 500)}",
                        "cold starts are slow",
                        s,
                        "cold_start_latency",
                        "rule",
                        0.8,
                        "[]",
                        30,
                        week_start + timedelta(hours=rng.randint(0, 160)),
                        "open",
                        1,
                        False,
                    )
                )
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
        _copy(connection, "service", ["slug", "team", "tier", "created_at"], service_rows)
        _copy(connection, "platform_assignment", ["service", "platform", "effective_from"], assignments)
        _copy(
            connection,
            "deployment",
            [
                "id",
                "source",
                "external_id",
                "service",
                "environment",
                "status",
                "started_at",
                "finished_at",
                "platform",
                "is_rollback",
            ],
            deployments,
        )
        _copy(connection, "change", ["id", "sha", "repository", "service", "committed_at"], changes)
        _copy(connection, "deployment_change", ["deployment_id", "change_id"], links)
        _copy(
            connection,
            "incident",
            [
                "id",
                "source",
                "external_id",
                "service",
                "status",
                "severity",
                "started_at",
                "resolved_at",
                "platform",
                "caused_by_deployment_id",
                "link_method",
            ],
            incidents,
        )
        _copy(
            connection,
            "friction_report",
            [
                "id",
                "source",
                "reporter",
                "text",
                "service",
                "category",
                "category_source",
                "confidence",
                "evidence",
                "minutes_lost",
                "created_at",
                "status",
                "votes",
                "blocking",
            ],
            friction,
        )
        connection.execute("ANALYZE")
    rows = {
        "deployment": len(deployments),
        "change": len(changes),
        "deployment_change": len(links),
        "incident": len(incidents),
        "friction_report": len(friction),
    }
    return Loaded(url=url, database=name, rows=rows)


def describe_migration(url: str, end: datetime) -> None:
    """The migration the data moves services in (legacy → new, started 48 weeks before ``end``, 8 baseline
    weeks): what a running install has described, so a digest judges the move."""
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as connection:
        for table in ("deployment", "change", "incident"):  # COPY wrote explicit ids: move the sequences on
            connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        connection.execute(
            "INSERT INTO migration (name, from_platform, to_platform, started_at, baseline_weeks) "
            "VALUES ('legacy-to-new', 'legacy', 'new', %s, 8)",
            (end - timedelta(weeks=48),),
        )


def drop(loaded: Loaded) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{loaded.database}" WITH (FORCE)')
