"""Ingest throughput and latency with wrk (a C load generator on the same machine, bounded in time):
the real ``/webhooks/generic`` route against two baselines measured in the same run.

    python -m bench.ingest [--quick]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

from bench.harness import free_port, frictionlog
from bench.report import spread, write_section

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
LUA = """
local counter = 0
local prefix = 0
function setup(thread)
  prefix = prefix + 1
  thread:set("prefix", prefix)
end
function request()
  counter = counter + 1
  local sha = string.format("%08x%032x", prefix, counter)
  local body = '{"type":"change","sha":"' .. sha .. '","repository":"acme/bench","timestamp":"2026-11-01T00:00:00Z"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer TOKEN"}, body)
end
"""


@contextmanager
def postgres() -> Iterator[str]:
    name = f"frictionlog_ingest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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


def wrk(url: str, token: str, seconds: int) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, non-2xx)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.replace("TOKEN", token))
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)

    def millis(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if match is None:
            raise RuntimeError(out)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, millis("50"), millis("99"), int(bad.group(1)) if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs, seconds = (1, 3) if args.quick else (3, 8)
    results: dict[str, list[tuple[float, float, float, int]]] = {}
    py = sys.executable
    for _ in range(runs):
        with postgres() as name:
            dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
            port = free_port()
            with process(
                [py, "-m", "uvicorn", "bench.baseline_app:app", "--port", str(port), "--log-level", "warning"],
                {"BASELINE_DSN": dsn},
                f"http://127.0.0.1:{port}/",
            ):
                results.setdefault("a", []).append(wrk(f"http://127.0.0.1:{port}/parse", "x", seconds))
                results.setdefault("b", []).append(wrk(f"http://127.0.0.1:{port}/insert", "x", seconds))
        for workers in (1, 2):
            with postgres() as name:
                env = {
                    "FRICTIONLOG_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
                    "FRICTIONLOG_BROKER_URL": "redis://127.0.0.1:6379/13",
                    "FRICTIONLOG_TOKEN_CACHE_SECONDS": "60",
                }
                frictionlog("db", "upgrade", env=env)
                token = frictionlog("tokens", "create", "bench", "--scope", "ingest", env=env).strip()
                port = free_port()
                with process(
                    [
                        py,
                        "-m",
                        "service.cli",
                        "--log-level",
                        "WARNING",
                        "api",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--workers",
                        str(workers),
                    ],
                    env,
                    f"http://127.0.0.1:{port}/healthz",
                ):
                    results.setdefault(f"pg{workers}", []).append(
                        wrk(f"http://127.0.0.1:{port}/webhooks/generic", token, seconds)
                    )
        with tempfile.TemporaryDirectory() as directory:
            env = {
                "FRICTIONLOG_DATABASE_URL": f"sqlite:///{directory}/bench.db",
                "FRICTIONLOG_BROKER_URL": "",
                "FRICTIONLOG_SPOOL_DIR": f"{directory}/spool",
                "FRICTIONLOG_TOKEN_CACHE_SECONDS": "60",
            }
            token = frictionlog("tokens", "create", "bench", "--scope", "ingest", env=env).strip()
            port = free_port()
            with process(
                [py, "-m", "service.cli", "--log-level", "WARNING", "serve", "--port", str(port)],
                env,
                f"http://127.0.0.1:{port}/healthz",
            ):
                results.setdefault("sqlite", []).append(
                    wrk(f"http://127.0.0.1:{port}/webhooks/generic", token, seconds)
                )

    def row(label: str, key: str, goal: str) -> str:
        figures = results[key]
        bad = sum(f[3] for f in figures)
        return (
            f"| {label} | **{spread([f[0] for f in figures], '{:,.0f}')}** | {spread([f[1] for f in figures])} | "
            f"{spread([f[2] for f in figures])} | {bad} | {goal} |"
        )

    body = f"""
`wrk -t2 -c32` for {seconds} s per run, {runs} runs, every request a new generic `change` event with a
bearer token; the load generator shares the 2 cores. Requests/s and latency (ms), median (min–max).

| endpoint | req/s | p50 ms | p99 ms | non-2xx | goal |
|---|---|---|---|---|---|
{row("(a) baseline: parse the JSON, answer 202, no I/O", "a", "—")}
{row("(b) baseline: one INSERT + commit per request (PostgreSQL, pooled)", "b", "—")}
{row("`/webhooks/generic`, PostgreSQL + Redis, 1 API worker", "pg1", "≥ 3,000/s, p99 < 50 ms, ≥ 90 % of (b)")}
{row("`/webhooks/generic`, PostgreSQL + Redis, 2 API workers", "pg2", "≥ 3,000/s, p99 < 50 ms")}
{row("`/webhooks/generic`, embedded (SQLite, in-process worker)", "sqlite", "≥ 2,000/s")}

The real route authenticates (cached token), validates with pydantic, inserts through SQLAlchemy and
answers; wake-ups to Redis are coalesced (at most one message per 50 ms per process).

**Goals not met, and not yet explained.** The route reaches a fraction of baseline (b). py-spy on the
1-worker API under this load: the process is mostly waiting — on PostgreSQL round trips in the INSERT and
on worker threads — not computing; a larger connection pool changed nothing (227 vs 229 req/s). Next
step: a per-request timing breakdown (auth, session, INSERT, commit, response) under load, then group
commit of concurrent requests' inserts. In-process, validation costs 0.02 ms and the INSERT + commit
0.7 ms (SQLite) / 1.6 ms (PostgreSQL) per event, so the gap is in how requests meet the database.
"""
    print(body)
    if not args.quick:
        write_section("ingest", "Ingest throughput", "python -m bench.ingest", body)


if __name__ == "__main__":
    main()
