"""FOCUS import throughput and memory: a 1 M-row FOCUS CSV through ``import_focus`` (SQLite, the embedded
default), beside ``pandas.read_csv`` of the same file, in the same run.

Each measurement runs in a fresh process, so its peak resident memory (``ru_maxrss``) is its own; the
runs alternate (import, pandas, import, …) so a change in the machine's load hits both alike. The load
average is recorded before and after (the machine is shared).

    python -m bench.cost_import [--quick] [--rows N]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.report import spread, write_section
from tests.focus_files import COLUMNS

SERVICE_NAMES = [
    "Amazon Elastic Compute Cloud",
    "Amazon S3",
    "Amazon RDS",
    "AWS Lambda",
    "Amazon EKS",
    "Amazon CloudWatch",
    "Amazon SageMaker",
    "AWS Data Transfer",
]


def write_bill(path: Path, rows: int, seed: int = 14) -> None:
    """A month of daily resource-level charges: 100 services (10 % of resources untagged), credits, EUR."""
    rng = random.Random(seed)
    month = datetime(2026, 10, 1, tzinfo=UTC)
    days = [(month + timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ") for d in range(32)]
    columns = COLUMNS  # the FOCUS columns the tests write (tests/focus_files.py)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for i in range(rows):
            resource_id = i // 31
            day = i % 31
            service = resource_id % 110
            tags = "{}" if service >= 100 else json.dumps({"service": f"svc-{service:03d}", "env": "prod"})
            credit = rng.random() < 0.01
            cost = -rng.uniform(0.1, 5) if credit else rng.uniform(0.01, 40)
            writer.writerow(
                [
                    "123456789012",
                    days[0],
                    "2026-11-01T00:00:00Z",
                    days[day],
                    days[day + 1],
                    f"{cost:.6f}",
                    f"{cost * 0.97:.6f}",
                    "EUR" if resource_id % 20 == 0 else "USD",
                    "Credit" if credit else "Usage",
                    "",
                    "AWS",
                    SERVICE_NAMES[resource_id % len(SERVICE_NAMES)],
                    f"arn:aws:ec2:eu-west-1:123456789012:instance/i-{resource_id:012x}",
                    tags,
                ]
            )


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def child(kind: str, path: Path, workdir: Path) -> dict[str, float]:
    if kind == "pandas":
        import pandas as pd

        before = _peak_mb()
        started = time.perf_counter()
        frame = pd.read_csv(path)
        seconds = time.perf_counter() - started
        rows = len(frame)
    else:
        from service.core.db import session_scope
        from service.core.settings import Settings
        from service.ingest.cost_import import import_focus
        from service.migrations import upgrade

        url = f"sqlite:///{workdir / f'bench-{os.getpid()}.db'}"
        upgrade(url)
        settings = Settings(_env_file=None, database_url=url, currency_rates={"EUR": 1.08})
        before = _peak_mb()
        with session_scope(url, write=True) as session:
            started = time.perf_counter()
            result = import_focus(session, settings, path)
            seconds = time.perf_counter() - started
        rows = result.rows
    return {"seconds": seconds, "rows": rows, "peak_mb": _peak_mb(), "before_mb": before}


def run(kind: str, path: Path, workdir: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.cost_import", "--child", kind, str(path), str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--child", nargs=3, metavar=("KIND", "FILE", "WORKDIR"))
    args = parser.parse_args()
    if args.child:
        kind, file, workdir = args.child
        print(json.dumps(child(kind, Path(file), Path(workdir))))
        return
    rows = args.rows or (50_000 if args.quick else 1_000_000)
    runs = args.runs or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory(prefix="frictionlog-cost-bench-") as tmp:
        workdir = Path(tmp)
        path = workdir / "focus.csv"
        write_bill(path, rows)
        size_mb = path.stat().st_size / 2**20
        load_before = os.getloadavg()
        results: dict[str, list[dict[str, float]]] = {"import": [], "pandas": []}
        for _ in range(runs):
            for kind in ("import", "pandas"):
                results[kind].append(run(kind, path, workdir))
                print(kind, results[kind][-1], flush=True)
        load_after = os.getloadavg()
    table = [
        "| | rows/s | seconds | peak RSS MB | RSS before the work MB | growth MB |",
        "|---|---|---|---|---|---|",
    ]
    labels = {
        "import": "`frictionlog cost import` (read, check, fold, replace in SQLite)",
        "pandas": "`pandas.read_csv` of the same file (baseline: parse only, all in memory)",
    }
    for kind, label in labels.items():
        done = results[kind]
        table.append(
            f"| {label} | {spread([r['rows'] / r['seconds'] for r in done], '{:,.0f}')} "
            f"| {spread([r['seconds'] for r in done], '{:.2f}')} | {spread([r['peak_mb'] for r in done], '{:.0f}')} "
            f"| {spread([r['before_mb'] for r in done], '{:.0f}')} "
            f"| {spread([r['peak_mb'] - r['before_mb'] for r in done], '{:.0f}')} |"
        )
    body = (
        "\n".join(table)
        + f"""

{rows:,} FOCUS rows ({size_mb:.0f} MB of CSV: a month of daily resource-level charges, 100 tagged services
and 10 % untagged resources, 1 % credits, 5 % in EUR), median of {runs} runs (min–max), each in a fresh
process, alternating. Load average (1, 5, 15 min) before: {", ".join(f"{v:.2f}" for v in load_before)};
after: {", ".join(f"{v:.2f}" for v in load_after)} — the machine is shared with other developers' work, so
both columns ran under the same, varying load.

The import streams the file (csv module) and folds each row into sums per (provider, billing period,
service, platform, charge category, currency, charge period, provider service name) before writing:
its memory is the interpreter and the sums, not the file, while pandas holds every row. The import does
more per row than pandas (timestamps, the Tags JSON, currency checks, all in Python), so it is slower.
"""
    )
    write_section(
        "cost_import", "FOCUS cost import", "python -m bench.cost_import" + (" --quick" if args.quick else ""), body
    )


if __name__ == "__main__":
    main()
