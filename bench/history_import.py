"""A year of GitHub history for 50 repositories through ``frictionlog import github``'s code (the real
client, the checkpointed loop, the inbox writes), against the stand-in in another process enforcing
GitHub's 5,000 requests an hour as a token bucket, with time scaled down.

Both processes read one scaled clock (``SCALE`` virtual seconds per wall second, from a shared start), so
the bucket refills at 5,000 per virtual hour and the client's waits are virtual seconds too. Reported:
requests per imported record; the share of the allowed requests used while work remained (requests made ÷
(the bucket's 5,000 + 5,000 per virtual hour elapsed)); the requests refused after the first; and the
processing rate (records per wall second the workers make of the imported inbox) beside the rate the API
can deliver records at the real limit (records per request × 5,000 / 3,600 s).

    python -m bench.history_import [--repos 50] [--days 365] [--scale 100]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.report import write_section

LIMIT = 5000
HOUR = 3600.0


def scaled_clock(start_wall: float, scale: float) -> Any:
    """Epoch seconds of a clock running ``scale`` times as fast as the wall's, from ``start_wall``."""

    def clock() -> float:
        return start_wall + (time.time() - start_wall) * scale

    return clock


def _serve(port_out: Any, repos: int, days: int, start_wall: float, scale: float, refused_out: Any) -> None:
    from tests.history_standins import Bucket, GitHubStandIn, make_repo, serve_github

    world = {f"acme/repo-{i:02d}": make_repo(i + 1, f"acme/repo-{i:02d}", days=days) for i in range(repos)}
    bucket = Bucket(LIMIT, rate=LIMIT / HOUR, clock=scaled_clock(start_wall, scale))
    with serve_github(GitHubStandIn(world, bucket=bucket)) as stand_in:
        port_out.put(stand_in.url)
        while True:
            time.sleep(0.2)
            refused_out.value = bucket.refused


def run(repos: int, days: int, scale: float) -> dict[str, float]:
    from integrations.history import sources
    from service.core.settings import Settings
    from service.migrations import upgrade
    from tests.history_standins import START
    from workers.process import drain

    start_wall = time.time()
    clock = scaled_clock(start_wall, scale)
    context = multiprocessing.get_context("fork")
    port_out, refused = context.Queue(), context.Value("i", 0)
    server = context.Process(target=_serve, args=(port_out, repos, days, start_wall, scale, refused), daemon=True)
    server.start()
    url = port_out.get(timeout=120)
    with tempfile.TemporaryDirectory() as folder:
        database = f"sqlite:///{Path(folder) / 'import.db'}"
        upgrade(database)
        settings = Settings(
            _env_file=None,
            database_url=database,
            broker_url=None,
            spool_dir=Path(folder) / "spool",
            github_token="ghp-bench",
            github_api_url=url,
            import_max_wait_seconds=2 * HOUR,
        )
        names = [f"acme/repo-{i:02d}" for i in range(repos)]
        began_virtual, began = clock(), time.monotonic()
        summary = sources.run(
            settings,
            "github",
            names,
            since=START,
            until=START + timedelta(days=days),
            client_options={"sleep": lambda s: time.sleep(s / scale), "clock": clock},
        )
        virtual = clock() - began_virtual
        wall = time.monotonic() - began
        time.sleep(0.5)
        refused_at_server = refused.value
        server.terminate()
        processing_began = time.monotonic()
        drained = drain(settings, budget_seconds=3600)
        processing = time.monotonic() - processing_began
    records = sum(summary.records().values())
    allowed = LIMIT + LIMIT / HOUR * virtual
    return {
        "repos": repos,
        "days": days,
        "requests": summary.requests,
        "records": records,
        "requests_per_record": summary.requests / records,
        "share_used": summary.requests / allowed,
        "refused": summary.refused,
        "refused_at_server": refused_at_server,
        "virtual_hours": virtual / HOUR,
        "wall_seconds": wall,
        "waited_virtual_hours": summary.waited_seconds / HOUR,
        "processed_rows": drained.processed,
        "processing_records_per_second": records / processing,
        "api_records_per_second": records / summary.requests * LIMIT / HOUR,
    }


def report(result: dict[str, float], scale: float) -> str:
    ratio = result["processing_records_per_second"] / result["api_records_per_second"]
    took = (
        f"{result['virtual_hours']:.2f} virtual hours ({result['wall_seconds']:.0f} s wall), "
        f"{result['waited_virtual_hours']:.2f} h of it waiting for the limit"
    )
    rows = [
        ("history imported", f"{result['repos']:.0f} repositories × {result['days']:.0f} days", ""),
        ("records imported", f"{result['records']:,.0f}", ""),
        ("requests made", f"{result['requests']:,.0f} ({result['requests_per_record']:.3f} per record)", ""),
        ("rate limit (stand-in)", f"token bucket of {LIMIT:,}, refilling {LIMIT:,} an hour; time × {scale:g}", ""),
        ("import took", took, ""),
        ("share of the allowed requests used while work remained", f"{result['share_used']:.3f}", "≥ 0.9"),
        (
            "requests refused for the rate limit",
            f"{result['refused']:.0f} (the stand-in counted {result['refused_at_server']:.0f})",
            "0 after the first",
        ),
        (
            "processing: the workers draining the imported inbox",
            f"{result['processing_records_per_second']:,.0f} records/s",
            "≥ 5 × the API's",
        ),
        (
            "the API's delivery rate at 5,000 requests/h",
            f"{result['api_records_per_second']:,.1f} records/s: processing is {ratio:,.0f}× it",
            "",
        ),
    ]
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    return f"""
| measure | value | goal |
|---|---|---|
{table}

The client never asks past the quota: at `x-ratelimit-remaining: 0` it waits until `x-ratelimit-reset`
(the stand-in's is when its bucket is full again; GitHub's, when its hourly window resets), then spends
the quota at full speed. The share is the requests made ÷ (the bucket's {LIMIT:,} + {LIMIT:,} per virtual
hour elapsed). A year of this history costs about {result["requests"] / LIMIT:.1f} hours of one token's
quota; the import is resumable, so it may be stopped and continued (docs/import.md). Processing is
measured apart from the fetching, on the embedded SQLite, one worker. (Issue 28 calls this benchmark
`bench/import.py`; `import` is a Python keyword, so it is `bench/history_import.py`, run as above.)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--scale", type=float, default=100.0, help="virtual seconds per wall second")
    parser.add_argument("--no-write", action="store_true", help="print, do not write BENCHMARKS.md")
    args = parser.parse_args()
    result = run(args.repos, args.days, args.scale)
    body = report(result, args.scale)
    print(body)
    if not args.no_write:
        command = "python -m bench.history_import"
        if (args.repos, args.days, args.scale) != (50, 365, 100.0):
            command += f" --repos {args.repos} --days {args.days} --scale {args.scale:g}"
        write_section("history_import", "History import: a year of GitHub at 5,000 requests an hour", command, body)


if __name__ == "__main__":
    main()
