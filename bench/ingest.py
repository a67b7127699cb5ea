"""Ingest throughput and latency with wrk (a C load generator on the same machine, bounded in time):
the real routes against bare routes measured in the same run, on realistic bodies.

    python -m bench.ingest [--quick] [--runs N] [--only KEY,...] [--bodies NAME,...]

Bodies (``BODIES``), each new on every request, built with the helpers the tests use
(``tests/vendors.py``, ``tests/factories.py``) from GitHub's documented webhook schemas:

- ``change``: the one-field-set generic ``change`` event (``POST /webhooks/generic``);
- ``deployment``: a generic deployment listing the 20 commits it shipped (``POST /webhooks/generic``);
- ``push``: a GitHub ``push`` of ~10 KB, 14 commits (``POST /webhooks/github``, signed);
- ``deployment_status``: a GitHub ``deployment_status`` (``POST /webhooks/github``, signed).

Keys: a, a2 (bare parse routes: Starlette, FastAPI), b (one PostgreSQL INSERT per request), c (an inline
FastAPI + SQLite receiver inserting on the event loop), pg1, pg2 (the API on PostgreSQL + Redis, 1 or 2
processes), sqlite (embedded). Each key runs every body against one server started once per run.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg

from bench.harness import database_name, free_port, frictionlog
from bench.report import spread, write_section
from service.ingest.inbox import Delivery
from service.ingest.spool import Spool
from tests.factories import T0, make_change, make_deployment, sha
from tests.vendors import gh_commit, gh_deployment_status, gh_push

ROOT = Path(__file__).resolve().parent.parent
DROP = "<not run>"
GITHUB_SECRET = "bench-github-secret"
UNIQUE = "0123456789abcdef0123456789abcdef01"
"""Where the request's unique 34-hex-digit id goes in a body (replaced by wrk, per request)."""


@dataclass(frozen=True)
class Body:
    name: str
    path: str
    body: bytes
    """With ``UNIQUE`` where each request puts its own id; a GitHub body is the same every time (its
    delivery id, the dedupe key, is a header) and signed once."""
    event_type: str
    headers: dict[str, str]
    delivery_header: str | None = None
    """The header that carries the unique id, for a vendor keyed by its delivery id."""


def _github(name: str, payload: object) -> Body:
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(GITHUB_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/abc123",
        "X-GitHub-Event": name,
        "X-GitHub-Hook-ID": "292430182",
        "X-Hub-Signature-256": signature,
    }
    return Body(name, "/webhooks/github", raw, name, headers, delivery_header="X-GitHub-Delivery")


def bodies() -> dict[str, Body]:
    generic = {"Content-Type": "application/json", "Authorization": "Bearer TOKEN"}
    change = make_change(sha=UNIQUE, repository="acme/bench")
    commits = [(sha(n), T0 - timedelta(hours=n)) for n in range(20)]
    deployment = make_deployment(
        UNIQUE,
        service="checkout-api",
        commits=commits,
        started_at="2026-10-05T11:52:00Z",
        commit_sha=commits[0][0],
        repository="acme/checkout-api",
        version="v2026.10.5-1",
        url="https://ci.example.com/deploys/1042",
    )
    files = [f"src/checkout/module_{n}.py" for n in range(4)]
    push = gh_push("main", [gh_commit(sha(100 + n), T0 - timedelta(minutes=n), files=files) for n in range(14)])
    status = gh_deployment_status(1042, sha(1), "success", T0, created=T0 - timedelta(minutes=8))
    return {
        "change": Body("change", "/webhooks/generic", json.dumps(change).encode(), "change", generic),
        "deployment": Body("deployment", "/webhooks/generic", json.dumps(deployment).encode(), "deployment", generic),
        "push": _github("push", push),
        "deployment_status": _github("deployment_status", status),
    }


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def lua(body: Body, token: str) -> str:
    """A wrk script sending ``body``, each request with its own id: ``<run><thread><counter>`` in hex, so a
    warm-up never collides with a run (nor, with ``wrk``'s ``tag``, one body with another)."""
    text = body.body.decode()
    prefix, _, suffix = text.partition(UNIQUE) if UNIQUE in text else (text, "", "")
    headers = {**body.headers}
    if "Authorization" in headers:
        headers["Authorization"] = f"Bearer {token}"
    table = ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items())
    with_id = "" if body.delivery_header is None else f"headers[ {_lua_string(body.delivery_header)} ] = id"
    glue = "prefix" if UNIQUE not in text else "prefix .. id .. suffix"
    return f"""
counter = 0
threads = 0
prefix = {_lua_string(prefix)}
suffix = {_lua_string(suffix)}
headers = {{{table}}}
function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end
function init(args)
  run = args[1]
end
function request()
  counter = counter + 1
  local id = string.format("%s%08x%024x", run, thread_no, counter)
  {with_id}
  return wrk.format("POST", nil, headers, {glue})
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


def wrk(url: str, script: str, seconds: int, *, tag: int = 0, warmup: int = 2) -> Run:
    """A warm-up (connections, prepared statements, caches), then the measured run. ``tag`` (0–9) sets the
    ids' first two hex digits, so bodies sent to one server never share a delivery id (a GitHub push and a
    deployment status with the same ``X-GitHub-Delivery`` are one delivery: the second is a duplicate)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)

    def once(duration: int, run: str) -> str:
        return subprocess.run(
            ["wrk", "-t2", "-c32", f"-d{duration}s", "--latency", "-s", handle.name, url, "--", run],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    warm = once(warmup, f"a{tag}")
    out = once(seconds, f"b{tag}")
    os.unlink(handle.name)

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
    if ok(out) == 0:
        raise SystemExit(f"{url}: no 2xx answer at all; the script or the server is wrong\n{out}")
    return Run(rate, millis("50"), millis("99"), answered - ok(out), ok(warm) + ok(out))


COUNT = "SELECT event_type, count(*) FROM inbox_event GROUP BY event_type"


def stored_postgres(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as connection:
        return {str(kind): int(n) for kind, n in connection.execute(COUNT).fetchall()}


def stored_sqlite(path: str) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        return {str(kind): int(n) for kind, n in connection.execute(COUNT).fetchall()}


def frictionlog_api(workers: int) -> tuple[list[str], str]:
    """The distributed API (``frictionlog api``) on a free port: its command line and base URL."""
    port = free_port()
    command = [sys.executable, "-m", "service.app.cli", "--log-level", "WARNING", "api", "--host", "127.0.0.1"]
    return [*command, "--port", str(port), "--workers", str(workers)], f"http://127.0.0.1:{port}"


Measured = dict[str, tuple[Run, int]]
"""Per body: the run, and the rows of its event type stored (inbox, plus the spool for embedded)."""


def measure_postgres(workers: int, seconds: int, chosen: list[Body]) -> Measured:
    """The real routes on a fresh database, every body against one API started once."""
    with database_name() as name:
        dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
        env = {
            "FRICTIONLOG_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
            "FRICTIONLOG_BROKER_URL": "redis://127.0.0.1:6379/13",
            "FRICTIONLOG_TOKEN_CACHE_SECONDS": "60",
            "FRICTIONLOG_GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
        }
        frictionlog("db", "upgrade", env=env)
        token = frictionlog("tokens", "create", "bench", "--scope", "ingest", env=env).strip()
        command, base = frictionlog_api(workers)
        runs: dict[str, Run] = {}
        with process(command, env, f"{base}/healthz"):
            for tag, body in enumerate(chosen):
                runs[body.name] = wrk(f"{base}{body.path}", lua(body, token), seconds, tag=tag)
        rows = stored_postgres(dsn)
        return {body.name: (runs[body.name], rows.get(body.event_type, 0)) for body in chosen}


def measure_embedded(seconds: int, chosen: list[Body]) -> Measured:
    with tempfile.TemporaryDirectory() as directory:
        env = {
            "FRICTIONLOG_DATABASE_URL": f"sqlite:///{directory}/bench.db",
            "FRICTIONLOG_BROKER_URL": "",
            "FRICTIONLOG_SPOOL_DIR": f"{directory}/spool",
            "FRICTIONLOG_TOKEN_CACHE_SECONDS": "60",
            "FRICTIONLOG_GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
        }
        token = frictionlog("tokens", "create", "bench", "--scope", "ingest", env=env).strip()
        port = free_port()
        command = [sys.executable, "-m", "service.app.cli", "--log-level", "WARNING", "serve", "--port", str(port)]
        runs: dict[str, Run] = {}
        with process(command, env, f"http://127.0.0.1:{port}/healthz"):
            for tag, body in enumerate(chosen):
                runs[body.name] = wrk(f"http://127.0.0.1:{port}{body.path}", lua(body, token), seconds, tag=tag)
        rows = stored_sqlite(f"{directory}/bench.db")
        spooled: dict[str, int] = {}

        def count(deliveries: list[Delivery]) -> None:
            for delivery in deliveries:
                spooled[delivery.event_type] = spooled.get(delivery.event_type, 0) + 1

        spool = Spool(Path(directory) / "spool")
        if spool.pending():  # accepted while SQLite was locked: durable on the spool, not yet in the inbox
            spool.drain(count)
        return {b.name: (runs[b.name], rows.get(b.event_type, 0) + spooled.get(b.event_type, 0)) for b in chosen}


def measure_baselines(seconds: int, chosen: list[Body], keys: set[str]) -> dict[str, dict[str, Run]]:
    """The bare routes (``bench/baseline_app.py``), one server for every key and body: key → body → run."""
    found: dict[str, dict[str, Run]] = {}
    with database_name() as name, tempfile.TemporaryDirectory() as directory:
        port = free_port()
        command = [sys.executable, "-m", "uvicorn", "bench.baseline_app:app", "--port", str(port)]
        env = {"BASELINE_DSN": f"postgresql://postgres@127.0.0.1:5432/{name}", "BASELINE_SQLITE": f"{directory}/c.db"}
        with process([*command, "--log-level", "warning"], env, f"http://127.0.0.1:{port}/"):
            for key, path in (("a", "/parse"), ("a2", "/fastapi/parse"), ("b", "/insert"), ("c", "/fastapi/sqlite")):
                if key in keys:
                    for tag, body in enumerate(chosen):
                        run = wrk(f"http://127.0.0.1:{port}{path}", lua(body, "x"), seconds, tag=tag)
                        found.setdefault(key, {})[body.name] = run
    return found


LABELS = {
    "a": "(a) bare Starlette route: parse the JSON, answer 202",
    "a2": "(a′) bare FastAPI route: parse the JSON, answer 202",
    "b": "(b) one INSERT + commit per request (PostgreSQL, pooled)",
    "c": "(c) inline FastAPI + SQLite receiver: INSERT OR IGNORE on the event loop (WAL)",
    "pg1": "Frictionlog, PostgreSQL + Redis, 1 API process",
    "pg2": "Frictionlog, PostgreSQL + Redis, 2 API processes",
    "sqlite": "Frictionlog, embedded (SQLite, in-process worker)",
}
GOALS = {"pg1": "≥ 0.5× (a′)", "sqlite": "≥ 0.5× (c)"}


@dataclass(slots=True)
class Results:
    """What the runs measured, per configuration key and body name: one Run per run, and (for Frictionlog)
    the rows stored minus the 2xx counted (≥ 0; at most the 32 requests cut off at the end of each wrk run)."""

    runs: dict[str, dict[str, list[Run]]] = field(default_factory=dict)
    surplus: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    def add(self, key: str, body: str, run: Run) -> None:
        self.runs.setdefault(key, {}).setdefault(body, []).append(run)

    def keep(self, key: str, measured: Measured) -> None:
        """Frictionlog's runs, failing the bench if a 2xx answer was not stored."""
        for body, (run, rows) in measured.items():
            self.add(key, body, run)
            self.surplus.setdefault(key, {}).setdefault(body, []).append(rows - run.accepted)
            if rows < run.accepted:
                raise SystemExit(f"{key} {body}: {run.accepted} requests answered 2xx but only {rows} rows stored")

    def ratio(self, key: str, base: str, body: str) -> str:
        if body not in self.runs.get(key, {}) or body not in self.runs.get(base, {}):
            return "—"
        pairs = zip(self.runs[key][body], self.runs[base][body], strict=True)
        return spread([m.rate / b.rate for m, b in pairs], "{:.2f}×")

    def row(self, key: str, body: Body) -> str:
        if body.name not in self.runs.get(key, {}):
            return DROP
        figures = self.runs[key][body.name]
        surplus = f"{max(self.surplus[key][body.name])}" if key in self.surplus else "—"
        rate = spread([f.rate for f in figures], "{:,.0f}")
        return (
            f"| {LABELS[key]} | **{rate}** | {spread([f.p50 for f in figures])} | "
            f"{spread([f.p99 for f in figures])} | {sum(f.bad for f in figures)} | {surplus} | {GOALS.get(key, '—')} |"
        )


def measure(runs: int, seconds: int, chosen: list[Body], keys: set[str]) -> Results:
    """Every chosen configuration on every chosen body, ``runs`` times, each run's baselines beside it."""
    results = Results()
    for _ in range(runs):
        for key, by_body in measure_baselines(seconds, chosen, keys).items():
            for name, run in by_body.items():
                results.add(key, name, run)
        if "pg1" in keys:
            results.keep("pg1", measure_postgres(1, seconds, chosen))
        if "pg2" in keys:
            results.keep("pg2", measure_postgres(2, seconds, chosen))
        if "sqlite" in keys:
            results.keep("sqlite", measure_embedded(seconds, chosen))
    return results


def report(results: Results, chosen: list[Body], runs: int, seconds: int) -> str:
    """BENCHMARKS.md's section: a table per body, then each goal's ratio run by run."""
    sizes = ", ".join(f"`{b.name}` {len(b.body):,} B" for b in chosen)
    tables = []
    for body in chosen:
        lines = [results.row(key, body) for key in LABELS]
        tables.append(
            f"**`{body.name}`** (`POST {body.path}`, {len(body.body):,} bytes)\n\n"
            "| endpoint | req/s | p50 ms | p99 ms | non-2xx | stored − 2xx | goal |\n|---|---|---|---|---|---|---|\n"
            + "\n".join(line for line in lines if line != DROP)
        )
    ratios = [
        f"| `{b.name}` | {results.ratio('pg1', 'a2', b.name)} | {results.ratio('pg1', 'a', b.name)} | "
        f"{results.ratio('sqlite', 'c', b.name)} |"
        for b in chosen
    ]
    load = os.getloadavg()
    return f"""
`wrk -t2 -c32` for {seconds} s per run after a 2 s warm-up, {runs} run(s); bodies {sizes}, each request a
new event (its own id in the body, or in `X-GitHub-Delivery` for GitHub, whose bodies are signed). The
bare routes parse the same body. The load generator shares the 2 cores with the servers and PostgreSQL,
and with whatever else runs on the machine: load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}
(1/5/15 min) at the end. Requests/s and latency (ms), median (min–max) of the runs. *Stored − 2xx*: rows
in the inbox (and the spool, embedded) minus 2xx answers wrk counted, warm-up included — never negative
(the bench fails if a 2xx was not stored); the surplus is requests committed but cut off when wrk stopped.

{(chr(10) * 2).join(tables)}

Ratios, run by run against the baseline of the same run, median (min–max):

| body | 1 API process / (a′) bare FastAPI | 1 API process / (a) bare Starlette | embedded / (c) inline SQLite |
|---|---|---|---|
{chr(10).join(ratios)}
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1 run of 3 s per configuration and body")
    parser.add_argument("--runs", type=int, default=None, help="runs per configuration (quick: 1, else 3)")
    parser.add_argument("--seconds", type=int, default=None, help="seconds per wrk run (quick: 3, else 8)")
    parser.add_argument("--only", default=None, help="comma-separated keys (see the module's docstring)")
    parser.add_argument("--bodies", default=None, help="comma-separated bodies (see the module's docstring)")
    args = parser.parse_args()
    runs, seconds = (1, 3) if args.quick else (3, 8)
    runs, seconds = args.runs or runs, args.seconds or seconds
    keys = set(args.only.split(",")) if args.only else {"a", "a2", "c", "pg1", "sqlite"}
    every = bodies()
    chosen = [every[name] for name in args.bodies.split(",")] if args.bodies else list(every.values())
    body_text = report(measure(runs, seconds, chosen, keys), chosen, runs, seconds)
    print(body_text)
    if not args.quick or args.runs:
        command = " ".join(["python -m bench.ingest", *sys.argv[1:]])
        write_section("ingest", "Ingest throughput", command, body_text)


if __name__ == "__main__":
    main()
