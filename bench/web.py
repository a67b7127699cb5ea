"""Web app page latency over a year of data (bench/dataset.py: 200 services, ~1.35 M rows) in PostgreSQL.

A real ``frictionlog serve`` process (uvicorn, embedded worker idle), rollups built and the last week's
digest kept, as the scheduler leaves them; a signed-in session (cookie) requests each page sequentially.
Baselines from the same run: ``/healthz`` (the framework's floor) and the weekly API endpoint by service
(the heaviest API read the pages build on). The first request of each page is reported apart (cold caches).

    python -m bench.web [--quick] [--record-quick]

``--record-quick`` writes a quick run (40 services) to its own section of BENCHMARKS.md (``web-quick``), beside
the full run's, which it leaves as it was.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from bench.dataset import create, describe_migration, drop
from bench.harness import frictionlog, percentile, server
from bench.report import write_section
from service.core.db import session_scope
from service.core.settings import Settings
from service.core.weeks import last_full_week
from service.figures import rollups_db
from workers.digest import keep_recent, run_digests

GOAL_MS = 300.0
WARM_SECONDS = 15.0


def prepare(url: str, end: datetime) -> tuple[int, float]:
    """What a running install has: the migration described, rollups built, last week's digest kept, and the
    keep-digests job's work done (every recent week, every audience). Returns (digests kept, seconds)."""
    describe_migration(url, end)
    settings = Settings(_env_file=None, database_url=url, broker_url=None)
    with session_scope(url, write=True) as session:
        rollups_db.rebuild(session, settings)
    run_digests(settings, None, week=last_full_week(datetime.now(UTC), settings.timezone))
    started = time.perf_counter()
    kept = keep_recent(settings, budget_seconds=float("inf"))
    return kept, time.perf_counter() - started


def sign_in(client: httpx.Client, token: str) -> None:
    form = client.get("/signin").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    answer = client.post("/signin", data={"token": token, "csrf": csrf.group(1), "next": "/"})
    assert answer.status_code == 303, answer.text


def timed(client: httpx.Client, path: str, runs: int, headers: dict[str, str] | None = None) -> dict[str, float]:
    first_started = time.perf_counter()
    response = client.get(path, headers=headers)
    first = (time.perf_counter() - first_started) * 1000
    assert response.status_code in (200, 404), (path, response.status_code, response.text[:300])
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "first": first,
        "p50": statistics.median(samples),
        "p95": percentile(samples, 0.95),
        "max": max(samples),
    }


def busy(client: httpx.Client, path: str, runs: int, ingest: dict[str, str], serial: list[int]) -> list[float]:
    """Each request right after a new event was processed: the data changed, so nothing cached can answer."""
    samples = []
    for _ in range(runs):
        serial[0] += 1
        event = {
            "type": "deployment",
            "id": f"bench-web-{serial[0]}",
            "service": "svc-001",
            "environment": "production",
            "status": "success",
            "finished_at": "2026-11-20T10:00:00Z",
        }
        client.post("/webhooks/generic", json=event, headers=ingest).raise_for_status()
        deadline = time.monotonic() + 30
        while client.get("/api/v1/events/stats", headers=ingest).json()["pending"] and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the embedded worker refreshes the rollups right after processing
        started = time.perf_counter()
        assert client.get(path).status_code in (200, 404)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--record-quick", action="store_true", help="a quick run, written to its own section")
    parser.add_argument("--seed", type=int, default=5, help="the generated year's seed (bench/dataset.py)")
    args = parser.parse_args()
    args.quick = args.quick or args.record_quick
    services, runs = (40, 5) if args.quick else (200, 30)
    started = time.perf_counter()
    data = create(services=services, seed=args.seed)
    try:
        kept, keeping = prepare(data.url, datetime(2026, 11, 23, tzinfo=UTC))
        prepared = time.perf_counter() - started
        env = {"FRICTIONLOG_DATABASE_URL": data.url, "FRICTIONLOG_BROKER_URL": ""}
        token = frictionlog("tokens", "create", "bench-web", "--scope", "read", "--scope", "admin", env=env).split()[-1]
        ingest_token = frictionlog("tokens", "create", "bench-ci", "--scope", "ingest", "--scope", "read", env=env)
        ingest = {"Authorization": f"Bearer {ingest_token.split()[-1]}"}
        serial = [0]
        with psycopg.connect(data.url.replace("postgresql+psycopg", "postgresql")) as connection:
            report_id = connection.execute("SELECT max(id) FROM friction_report").fetchone()[0]  # type: ignore[index]
        week = last_full_week(datetime.now(UTC) - timedelta(weeks=1), "UTC")
        pages = {
            "overview `/`": "/",
            "overview for a team over a range (scorecard re-estimated) `/?team=team-3&from=2026-W40`": (
                "/?team=team-3&from=2026-W40"
            ),
            "overview for one service (scorecard re-estimated) `/?service=svc-001`": "/?service=svc-001",
            "services `/services`": "/services",
            "a service `/services/svc-001`": "/services/svc-001",
            "friction board `/friction`": "/friction",
            "a report `/friction/{id}`": f"/friction/{report_id}",
            "themes `/friction/themes`": "/friction/themes",
            "triage queue `/friction/queue`": "/friction/queue",
            "triage queue by minutes lost, searched": "/friction/queue?sort=minutes&q=deploy",
            "cost `/cost`": "/cost",
            "cost CSV `/cost.csv`": "/cost.csv",
            "digests `/digests`": "/digests",
            f"a digest `/digests/{week}` (kept by the keep-digests job)": f"/digests/{week}",
            f"a team's digest `/digests/{week}?audience=team:team-3` (kept)": f"/digests/{week}?audience=team:team-3",
            f"the HTML digest `/digests/{week}/html` (kept with the digest)": f"/digests/{week}/html",
            f"a team's HTML digest `/digests/{week}/html?audience=team:team-3`": (
                f"/digests/{week}/html?audience=team:team-3"
            ),
            "events behind a tile `/events/deployments` (8 weeks, the newest 200 rows shown)": "/events/deployments",
            "a digest nobody kept, `/digests/2026-W20` (first: 'being prepared')": "/digests/2026-W20",
            "data quality `/data`": "/data",
            "404 page": "/no/such/page",
        }
        figures: dict[str, dict[str, float]] = {}
        with server(env) as running, httpx.Client(base_url=running.url, timeout=60) as client:
            time.sleep(WARM_SECONDS)  # readers arrive after the start-up warm-up (service/app/web/warm.py) is done
            figures["baseline: `/healthz`"] = timed(client, "/healthz", runs)
            bearer = {"Authorization": f"Bearer {token}"}
            weekly = "/api/v1/metrics/weekly?group_by=service&from=2025-11-24&to=2026-11-23"
            figures["baseline: weekly API by service (rollups)"] = timed(client, weekly, runs, bearer)
            sign_in(client, token)
            for label, path in pages.items():
                figures[label] = timed(client, path, runs)
            for label, path in pages.items():
                samples = busy(client, path, max(3, runs // 3), ingest, serial)
                figures[label]["busy_p50"] = statistics.median(samples)
                figures[label]["busy_max"] = max(samples)
    finally:
        drop(data)

    def busy_cells(f: dict[str, float]) -> str:
        return f"{f['busy_p50']:.0f} | {f['busy_max']:.0f}" if "busy_p50" in f else "— | —"

    rows = "\n".join(
        f"| {label} | {f['first']:.0f} | **{f['p50']:.0f}** | {f['p95']:.0f} | {f['max']:.0f} | {busy_cells(f)} |"
        for label, f in figures.items()
    )
    pages_only = {label: f for label, f in figures.items() if not label.startswith("baseline")}
    slow = [label for label, f in pages_only.items() if max(f["p95"], f.get("busy_p50", 0)) > GOAL_MS]
    cold = [label for label, f in pages_only.items() if f["first"] > GOAL_MS]
    verdict = (
        f"Once a page has answered once, its p95 and its median just after new data are under {GOAL_MS:.0f} ms"
        if not slow
        else f"**Goal not met** for: {', '.join(slow)} (p95, or median after new data, over {GOAL_MS:.0f} ms)"
    )
    verdict += (
        f". **Not met on the first request after a start** for: {', '.join(cold)}."
        if cold
        else "; the first request after a start too."
    )
    body = f"""
{data.total:,} rows ({services} services, a year), rollups built, last week's digest posted and every recent
week's digest for every audience kept, as the scheduler leaves them (the keep-digests job kept {kept} digests —
16 weeks × leaders and each of the {min(services, 20)} teams — in {keeping:.0f} s, {keeping / max(kept, 1):.2f} s
each on average; prepared in {prepared:.0f} s in all). One `frictionlog serve` process on PostgreSQL, one client, a
signed-in session; the first request of each page {WARM_SECONDS:.0f} s after the server started (the start-up
warm-up has memoised the overview, the services table, the themes and the data page's warnings; any other
page computes everything), then {runs} sequential requests, then {max(3, runs // 3)} more each right after a
new event was processed (the data version changed: the page serves its last answer while a background
thread recomputes, the cost a reader sees on a busy install). Milliseconds.

| page | first request | p50 | p95 | max | just after new data: p50 | max |
|---|---|---|---|---|---|---|
{rows}

{verdict}

The overview and the services table read the kept digest of the last complete week (the services table's
before/after is the digest's per-service table); the data page makes a 28-day DORA pass for its warnings.
A digest nobody has kept (a week older than the 16 the job keeps) is built in the background: its first
request waits at most 0.2 s and then answers a page that says it is being prepared and reloads itself, so
that row's first figure is the "being prepared" page, and later requests get the built digest from the memo.
The weekly API baseline shows what a rollup read costs without a memo. The machine is shared (2 cores,
other developers' runs at the same time), so the tails are noisy.
"""
    print(body)
    if args.record_quick:
        title = f"Web app pages, quick run ({services} services, a year)"
        write_section("web-quick", title, f"python -m bench.web --record-quick --seed {args.seed}", body)
    elif not args.quick:
        write_section("web", "Web app pages over a year of data", "python -m bench.web", body)


if __name__ == "__main__":
    main()
