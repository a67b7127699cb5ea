"""A year of data for many services, bulk-loaded straight into PostgreSQL (COPY) for the metrics benches.

Deployments with their commits and commit links, incidents linked to some deployments, friction
reports: by default 200 services × 52 weeks, over a million rows in all.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
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


@dataclass(slots=True)
class _Rows:
    """The generated rows of each table, in COPY column order, with the ids handed out so far."""

    deployments: list[tuple[object, ...]] = field(default_factory=list)
    changes: list[tuple[object, ...]] = field(default_factory=list)
    links: list[tuple[object, ...]] = field(default_factory=list)
    incidents: list[tuple[object, ...]] = field(default_factory=list)
    friction: list[tuple[object, ...]] = field(default_factory=list)

    def deployment(self, rng: random.Random, service: str, week_start: datetime, on_new: bool, commits: int) -> None:
        """One deployment in the week, its commits, and now and then an incident it caused."""
        deployment_id = len(self.deployments) + 1
        finished = week_start + timedelta(seconds=rng.randint(0, 7 * 86400 - 1))
        status = "failure" if rng.random() < (0.05 if on_new else 0.15) else "success"
        platform = "new" if on_new else "legacy"
        self.deployments.append(
            (deployment_id, "bench", f"d{deployment_id}", service, "production", status)
            + (finished - timedelta(minutes=10), finished, platform, False)
        )
        for _ in range(commits):
            change_id = len(self.changes) + 1
            lead = timedelta(hours=rng.lognormvariate(1.8 if on_new else 3.5, 0.7))
            self.changes.append((change_id, f"{change_id:040x}", f"acme/{service}", service, finished - lead))
            self.links.append((deployment_id, change_id))
        if status == "success" and rng.random() < 0.03:
            incident_id = len(self.incidents) + 1
            started = finished + timedelta(minutes=rng.randint(5, 300))
            restore = timedelta(minutes=rng.lognormvariate(4 if not on_new else 3, 0.6))
            self.incidents.append(
                (incident_id, "bench", f"i{incident_id}", service, "resolved", "sev2", started, started + restore)
                + (platform, deployment_id, "window")
            )

    def reports(self, rng: random.Random, service: str, week_start: datetime) -> None:
        """Up to two friction reports in the week."""
        for _ in range(rng.randint(0, 2)):
            reporter, at = f"U{rng.randint(1, 500)}", week_start + timedelta(hours=rng.randint(0, 160))
            self.friction.append(
                (len(self.friction) + 1, "api", reporter, "cold starts are slow", service, "cold_start_latency")
                + ("rule", 0.8, "[]", 30, at, "open", 1, False)
            )


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
    generated = _Rows()
    for s in slugs:
        for week in range(weeks):
            week_start = start + timedelta(weeks=week)
            on_new = moved[s] <= week_start
            for _ in range(deploys_per_week if on_new else deploys_per_week // 2):
                generated.deployment(rng, s, week_start, on_new, commits)
            generated.reports(rng, s, week_start)
    deployments, changes, links = generated.deployments, generated.changes, generated.links
    incidents, friction = generated.incidents, generated.friction
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
