"""Ingest throughput and latency with wrk (a C load generator on the same machine, bounded in time):
the real ``/webhooks/generic`` route against two baselines measured in the same run.

    python -m bench.ingest [--quick] [--runs N] [--only KEY,...]

Keys: a, a2, b, c (the baselines), pg1, pg2, pg1-some, pg1-old, sqlite.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from bench.harness import database_name, free_port, frictionlog
from bench.report import spread, write_section

ROOT = Path(__file__).resolve().parent.parent
DROP = "<not run>"
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
LUA = """
-- Every request a new event: keys are <run>-<thread>-<counter>, so a warm-up never collides with a run.
counter = 0
threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end
function init(args)
  run = args[1]
end
function request()
  counter = counter + 1
  local sha = string.format("%s%08x%024x", run, thread_no, counter)
  local body = '{"type":"change","sha":"' .. sha .. '","repository":"acme/bench","timestamp":"2026-11-01T00:00:00Z"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer TOKEN"}, body)
end
"""


@contextmanager
def process(args: list[str], env: dict[str, str], url: str) -> Iterator[None]:
    proc = subprocess.Popen(
        args, env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"{args} did not start") from None
            time.sleep(0.2)
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@dataclass(frozen=True)
class Run:
    rate: float
    p50: float
    p99: float
    bad: int
    """Non-2xx answers."""
    accepted: int
    """2xx answers counted by wrk, warm-up included (requests cut off at the end are not counted)."""


def wrk(url: str, token: str, seconds: int, *, warmup: int = 2) -> Run:
    """A warm-up (connections, prepared statements, caches), then the measured run."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.replace("TOKEN", token))

    def once(duration: int, run: str) -> str:
        return subprocess.run(
            ["wrk", "-t2", "-c32", f"-d{duration}s", "--latency", "-s", script.name, url, "--", run],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    warm = once(warmup, "aa")
    out = once(seconds, "bb")
    os.unlink(script.name)

    def millis(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if match is None:
            raise RuntimeError(out)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    def ok(text: str) -> int:
        answered = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
        bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
        return answered - (int(bad.group(1)) if bad else 0)

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    answered = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return Run(rate, millis("50"), millis("99"), answered - ok(out), ok(warm) + ok(out))


def stored(dsn: str, pattern: str = "sha256:%") -> int:
    with psycopg.connect(dsn) as connection:
        row = connection.execute("SELECT count(*) FROM inbox_event WHERE delivery_key LIKE %s", (pattern,)).fetchone()
    return int(row[0]) if row else 0


def preload(dsn: str, rows: int) -> None:
    """``rows`` processed events already in the inbox, as after months of use (the scaling run)."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO inbox_event (source, event_type, delivery_key, body, headers, received_at, available_at,"
            " status, attempts, processed_at)"
            " SELECT 'generic', 'change', 'old-' || n, '{}', '{}', now(), now(), 'processed', 1, now()"
            " FROM generate_series(1, %s) AS n",
            (rows,),
        )
        connection.execute("VACUUM ANALYZE inbox_event")


def frictionlog_api(workers: int) -> tuple[list[str], str]:
    """The distributed API (``frictionlog api``) on a free port: its command line and base URL."""
    port = free_port()
    command = [sys.executable, "-m", "service.app.cli", "--log-level", "WARNING", "api", "--host", "127.0.0.1"]
    return [*command, "--port", str(port), "--workers", str(workers)], f"http://127.0.0.1:{port}"


def measure_postgres(workers: int, seconds: int, *, stored_before: int = 0) -> tuple[Run, int]:
    """The real route on a fresh database (``stored_before`` old rows first): the run, and rows stored."""
    with database_name() as name:
        dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
        env = {
            "FRICTIONLOG_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
            "FRICTIONLOG_BROKER_URL": "redis://127.0.0.1:6379/13",
            "FRICTIONLOG_TOKEN_CACHE_SECONDS": "60",
        }
        frictionlog("db", "upgrade", env=env)
        if stored_before:
            preload(dsn, stored_before)
        token = frictionlog("tokens", "create", "bench", "--scope", "ingest", env=env).strip()
        command, base = frictionlog_api(workers)
        with process(command, env, f"{base}/healthz"):
            run = wrk(f"{base}/webhooks/generic", token, seconds)
        return run, stored(dsn)


def measure_embedded(seconds: int) -> tuple[Run, int]:
    with tempfile.TemporaryDirectory() as directory:
        env = {
            "FRICTIONLOG_DATABASE_URL": f"sqlite:///{directory}/bench.db",
            "FRICTIONLOG_BROKER_URL": "",
            "FRICTIONLOG_SPOOL_DIR": f"{directory}/spool",
            "FRICTIONLOG_TOKEN_CACHE_SECONDS": "60",
        }
        token = frictionlog("tokens", "create", "bench", "--scope", "ingest", env=env).strip()
        port = free_port()
        command = [sys.executable, "-m", "service.app.cli", "--log-level", "WARNING", "serve", "--port", str(port)]
        with process(command, env, f"http://127.0.0.1:{port}/healthz"):
            run = wrk(f"http://127.0.0.1:{port}/webhooks/generic", token, seconds)
        with sqlite3.connect(f"{directory}/bench.db") as connection:
            count = connection.execute("SELECT count(*) FROM inbox_event WHERE delivery_key LIKE 'sha256:%'")
            return run, int(count.fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=None, help="runs per configuration (quick: 1, else 3)")
    parser.add_argument("--only", default=None, help="comma-separated keys (see the module's docstring)")
    args = parser.parse_args()
    runs, seconds, old_rows = (1, 3, 100_000) if args.quick else (3, 8, 1_000_000)
    runs = args.runs or runs
    keys = (
        set(args.only.split(",")) if args.only else {"a", "a2", "b", "c", "pg1", "pg2", "pg1-some", "pg1-old", "sqlite"}
    )
    results: dict[str, list[Run]] = {}
    extra: dict[str, list[int]] = {}
    """Per configuration: rows stored minus 2xx counted (≥ 0; at most the 32 requests cut off at the end)."""

    def keep(key: str, measured: tuple[Run, int]) -> None:
        run, rows = measured
        results.setdefault(key, []).append(run)
        extra.setdefault(key, []).append(rows - run.accepted)
        if rows < run.accepted:
            raise SystemExit(f"{key}: {run.accepted} requests answered 2xx but only {rows} rows stored")

    for _ in range(runs):
        with database_name() as name, tempfile.TemporaryDirectory() as directory:
            dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
            port = free_port()
            with process(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench.baseline_app:app",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                ],
                {"BASELINE_DSN": dsn, "BASELINE_SQLITE": f"{directory}/baseline.db"},
                f"http://127.0.0.1:{port}/",
            ):
                for key, path in (
                    ("a", "/parse"),
                    ("a2", "/fastapi/parse"),
                    ("b", "/insert"),
                    ("c", "/fastapi/sqlite"),
                ):
                    if key in keys:
                        results.setdefault(key, []).append(wrk(f"http://127.0.0.1:{port}{path}", "x", seconds))
        if "pg1" in keys:
            keep("pg1", measure_postgres(1, seconds))
        if "pg2" in keys:
            keep("pg2", measure_postgres(2, seconds))
        if "pg1-some" in keys:
            keep("pg1-some", measure_postgres(1, seconds, stored_before=old_rows // 10))
        if "pg1-old" in keys:
            keep("pg1-old", measure_postgres(1, seconds, stored_before=old_rows))
        if "sqlite" in keys:
            keep("sqlite", measure_embedded(seconds))

    def ratio(key: str, base: str) -> str:
        if key not in results or base not in results:
            return "—"
        return spread([m.rate / b.rate for m, b in zip(results[key], results[base], strict=True)], "{:.2f}×")

    def row(label: str, key: str, goal: str) -> str:
        if key not in results:
            return DROP  # not run (--only): its line is dropped below
        figures = results[key]
        bad = sum(f.bad for f in figures)
        surplus = f"{max(extra[key])}" if key in extra else "—"
        return (
            f"| {label} | **{spread([f.rate for f in figures], '{:,.0f}')}** | {spread([f.p50 for f in figures])} | "
            f"{spread([f.p99 for f in figures])} | {bad} | {surplus} | {goal} |"
        )

    load = os.getloadavg()
    body = f"""
`wrk -t2 -c32` for {seconds} s per run after a 2 s warm-up, {runs} run(s), every request a new generic
`change` event with a bearer token; the load generator shares the 2 cores with the server and PostgreSQL,
and with whatever else runs on the machine: load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min)
at the end. Requests/s and latency (ms), median (min–max) of the runs. *Stored − 2xx*: rows in the inbox
minus 2xx answers wrk counted, warm-up included — never negative (the bench fails if a 2xx was not
stored); the surplus is requests committed but cut off when wrk stopped (at most 32 per wrk run).

| endpoint | req/s | p50 ms | p99 ms | non-2xx | stored − 2xx | goal |
|---|---|---|---|---|---|---|
{row("(a) baseline: parse the JSON, answer 202, no I/O (Starlette)", "a", "—")}
{row("(a′) baseline: the same as a FastAPI route (the issue's (a))", "a2", "—")}
{row("(b) baseline: one INSERT + commit per request (PostgreSQL, pooled)", "b", "—")}
{row("(c) baseline: FastAPI + SQLite, one INSERT OR IGNORE per request (WAL)", "c", "—")}
{row("`/webhooks/generic`, PostgreSQL + Redis, 1 API worker", "pg1", "≥ 0.5× (a′), p99 < 50 ms")}
{row("`/webhooks/generic`, PostgreSQL + Redis, 2 API workers", "pg2", "—")}
{row(f"`/webhooks/generic`, 1 API worker, {old_rows // 10:,} rows already stored", "pg1-some", "—")}
{row(f"`/webhooks/generic`, 1 API worker, {old_rows:,} rows already stored", "pg1-old", "—")}
{row("`/webhooks/generic`, embedded (SQLite, in-process worker)", "sqlite", "≥ 0.5× (c)")}

Ratios, run by run against the baseline of the same run, median (min–max):

| ratio | value |
|---|---|
| 1 API worker / (a′) FastAPI parse | {ratio("pg1", "a2")} |
| 1 API worker / (a) Starlette parse | {ratio("pg1", "a")} |
| 1 API worker / (b) INSERT + commit per request | {ratio("pg1", "b")} |
| embedded / (c) FastAPI + SQLite INSERT OR IGNORE | {ratio("sqlite", "c")} |
"""
    print(body)
    body = "\n".join(line for line in body.split("\n") if line != DROP)
    if not args.quick or args.runs:
        command = " ".join(["python -m bench.ingest", *sys.argv[1:]])
        write_section("ingest", "Ingest throughput", command, body)


if __name__ == "__main__":
    main()
