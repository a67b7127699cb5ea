"""How ingest, claims and weekly reads grow with the number of rows stored in the inbox (PostgreSQL).

    python -m bench.scale [--sizes 0,1000000,10000000] [--seconds 3]

One database grows through the sizes: old, processed inbox rows are generated set-based inside
PostgreSQL (``INSERT … SELECT … FROM generate_series``, one statement per million rows — no client
round trip per row), then at each size, with one API process (PostgreSQL + Redis) running throughout:

- **ingest**: ``wrk -t2 -c32`` on ``/webhooks/generic`` (new delivery ids), as in ``bench.ingest``;
- **claim**: 20,000 pending rows are added, and one worker claim of 500 (``inbox.claim_batch``, the
  statement the workers run) is timed 5 times, each rolled back;
- **weekly read**: ``GET /api/v1/metrics/weekly`` timed 5 times (it reads the rollups and the event
  tables, not the inbox — the figure shows whether the inbox's size leaks into reads).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import httpx
import psycopg

from bench.harness import database_name, frictionlog
from bench.ingest import frictionlog_api, process, wrk
from bench.report import write_section
from service.core.db import session_scope
from service.ingest import inbox

CHUNK = 1_000_000


def grow(dsn: str, start: int, end: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as connection:
        for low in range(start, end, CHUNK):
            high = min(end, low + CHUNK)
            connection.execute(
                "INSERT INTO inbox_event (source, event_type, delivery_key, body, headers, received_at,"
                " available_at, status, attempts, processed_at)"
                " SELECT 'generic', 'change', 'old-' || n,"
                ' \'{"type":"change","sha":"\' || md5(n::text) || \'","repository":"acme/old"}\', \'{}\','
                " now() - make_interval(secs => n), now() - make_interval(secs => n), 'processed', 1, now()"
                " FROM generate_series(%s, %s) AS n",
                (low + 1, high),
            )
        connection.execute("VACUUM ANALYZE inbox_event")


def claim_ms(url: str, dsn: str) -> float:
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("UPDATE inbox_event SET status = 'processed' WHERE status = 'pending'")
        connection.execute(
            "INSERT INTO inbox_event (source, event_type, delivery_key, body, headers, received_at, available_at,"
            " status, attempts) SELECT 'generic', 'change', 'claim-' || n || '-' || %s, '{}', '{}', now(), now(),"
            " 'pending', 0 FROM generate_series(1, 20000) AS n",
            (time.time_ns(),),
        )
        connection.execute("ANALYZE inbox_event")
    times = []
    for _ in range(5):
        started = time.perf_counter()
        with session_scope(url, write=True) as session:
            rows = inbox.claim_batch(session, limit=500)
            times.append((time.perf_counter() - started) * 1000)
            assert len(rows) == 500
            session.rollback()
    return statistics.median(times)


def weekly_ms(base: str, token: str) -> float:
    times = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        client.get("/api/v1/metrics/weekly").raise_for_status()
        for _ in range(5):
            started = time.perf_counter()
            client.get("/api/v1/metrics/weekly").raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def table_mb(dsn: str) -> float:
    with psycopg.connect(dsn) as connection:
        row = connection.execute("SELECT pg_total_relation_size('inbox_event')").fetchone()
    return (row[0] if row else 0) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="0,1000000,10000000")
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    lines = []
    with database_name() as name:
        dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        env = {
            "FRICTIONLOG_DATABASE_URL": url,
            "FRICTIONLOG_BROKER_URL": "redis://127.0.0.1:6379/13",
            "FRICTIONLOG_TOKEN_CACHE_SECONDS": "600",
        }
        frictionlog("db", "upgrade", env=env)
        ingest = frictionlog("tokens", "create", "bench", "--scope", "ingest", env=env).strip()
        read = frictionlog("tokens", "create", "reader", "--scope", "read", env=env).strip()
        command, base = frictionlog_api(1)
        stored = 0
        with process(command, env, f"{base}/healthz"):
            for size in sizes:
                started = time.monotonic()
                grow(dsn, stored, size)
                grown = time.monotonic() - started
                stored = size
                run = wrk(f"{base}/webhooks/generic", ingest, args.seconds)
                claim = claim_ms(url, dsn)
                weekly = weekly_ms(base, read)
                line = (
                    f"| {size:,} | {table_mb(dsn):,.0f} | {run.rate:,.0f} | {run.p99:.1f} | {claim:.1f} |"
                    f" {weekly:.1f} | {grown:.0f} |"
                )
                print(line, f"load {os.getloadavg()[0]:.2f}", flush=True)
                lines.append(line)
    header = (
        "| inbox rows stored | inbox table + indexes MB | ingest req/s | ingest p99 ms | claim 500 ms |"
        " weekly read ms | s to generate |\n|---|---|---|---|---|---|---|"
    )
    body = f"""
One database grown through the sizes (old processed rows generated inside PostgreSQL with
`generate_series`); at each size, one API process (PostgreSQL + Redis): ingest with `wrk -t2 -c32` for
{args.seconds} s after a 2 s warm-up (one run), a worker claim of 500 among 20,000 pending rows (median
of 5, rolled back), and `GET /api/v1/metrics/weekly` (median of 5). Load average at the end
{os.getloadavg()[0]:.2f} (shared machine: read the trend down the columns, not the absolute figures).

{header}
{chr(10).join(lines)}
"""
    print(body)
    if max(sizes) >= 1_000_000:  # a smoke run (make bench QUICK=1) writes nothing
        write_section(
            "scale", "Inbox size: ingest, claims and weekly reads", "python -m bench.scale " + args.sizes, body
        )


if __name__ == "__main__":
    main()
