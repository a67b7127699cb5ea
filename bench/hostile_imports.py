"""Peak memory of hostile FOCUS files beside a valid 1 M-row import, in the same run (issue 26 #5).

Each file is imported by ``import_focus`` (SQLite, as ``frictionlog cost import`` does) in a fresh process,
whose peak resident memory is its own (``VmHWM``; CPU time from ``os.wait4``). The hostile files are the red
team's: a gzip'd CSV of one newline-free line, a zstd Parquet file with one 400 MB cell, a gzip bomb of blank
lines; the valid file is ``bench.cost_import``'s month of resource-level charges, gzip'd. The bar: every
hostile file refused, naming its bound, under twice the valid import's peak.

    python -m bench.hostile_imports [--quick]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.cost_import import write_bill
from bench.report import write_section
from tests.focus_files import COLUMNS, Charge

MIB = 1 << 20


def one_line(path: Path, size: int) -> None:
    with gzip.open(path, "wb", compresslevel=6) as handle:
        handle.write((",".join(COLUMNS) + "\n").encode())
        block = b"A" * MIB
        for _ in range(size // MIB):
            handle.write(block)


def blank_lines(path: Path, size: int) -> None:
    with gzip.open(path, "wb", compresslevel=6) as handle:
        handle.write((",".join(COLUMNS) + "\n").encode())
        block = b"\n" * MIB
        for _ in range(size // MIB):
            handle.write(block)


def huge_cell(path: Path, size: int) -> None:
    from datetime import UTC, datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{k: str(v) for k, v in Charge(datetime(2026, 10, 5, tzinfo=UTC), 1.0).row().items()} for _ in range(3)]
    rows[2]["ResourceId"] = "x" * size
    table = pa.table({name: pa.array([r[name] for r in rows], pa.string()) for name in COLUMNS})
    pq.write_table(table, path, compression="zstd")


def child(path: Path, workdir: Path) -> dict[str, object]:
    from service.core.db import session_scope
    from service.core.errors import AppError
    from service.core.settings import Settings
    from service.ingest.cost_import import import_focus
    from service.migrations import upgrade

    url = f"sqlite:///{workdir / f'bench-{os.getpid()}.db'}"
    upgrade(url)
    settings = Settings(_env_file=None, database_url=url, currency_rates={"EUR": 1.08})
    before = _high_water_mb()
    try:
        with session_scope(url, write=True) as session:
            result = import_focus(session, settings, path)
        outcome = f"imported {result.rows:,} rows"
    except AppError as refusal:
        outcome = f"refused: {refusal}"
    return {"outcome": outcome, "before_mb": before, "peak_mb": _high_water_mb()}


def _high_water_mb() -> float:
    """This process's peak resident memory (VmHWM): unlike ``ru_maxrss``, not inherited from the parent."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


@dataclass(frozen=True)
class Measured:
    outcome: str
    peak_mb: float
    cpu_s: float
    size: int


def run(path: Path, workdir: Path) -> Measured:
    with subprocess.Popen(
        [sys.executable, "-m", "bench.hostile_imports", "--child", str(path), str(workdir)],
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    result = json.loads(out.strip().splitlines()[-1])
    return Measured(
        outcome=str(result["outcome"]),
        peak_mb=float(result["peak_mb"]),
        cpu_s=usage.ru_utime + usage.ru_stime,
        size=path.stat().st_size,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a 100,000-row valid file and 100 MB bombs")
    parser.add_argument("--child", nargs=2, metavar=("FILE", "WORKDIR"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child[0]), Path(args.child[1]))))
        return
    rows = 100_000 if args.quick else 1_000_000
    big = 100 * MIB if args.quick else 400 * MIB
    line = 100 * MIB if args.quick else 1024 * MIB
    with tempfile.TemporaryDirectory(prefix="frictionlog-hostile-") as tmp:
        work = Path(tmp)
        plain = work / "bill.csv"
        write_bill(plain, rows)
        valid = work / "bill.csv.gz"
        with plain.open("rb") as source, gzip.open(valid, "wb") as target:
            shutil.copyfileobj(source, target)
        plain.unlink()
        files = {
            f"valid: {rows:,} rows, gzip'd CSV": valid,
            f"one newline-free line of {line // MIB:,} MiB, gzip'd": work / "line.csv.gz",
            f"one {big // MIB:,} MiB cell, zstd Parquet": work / "cell.parquet",
            f"{line // MIB:,} MiB of blank lines, gzip'd (a bomb)": work / "blank.csv.gz",
        }
        one_line(files[f"one newline-free line of {line // MIB:,} MiB, gzip'd"], line)
        huge_cell(files[f"one {big // MIB:,} MiB cell, zstd Parquet"], big)
        blank_lines(files[f"{line // MIB:,} MiB of blank lines, gzip'd (a bomb)"], line)
        results: dict[str, Measured] = {}
        for label, path in files.items():
            results[label] = run(path, work)
            print(label, results[label], flush=True)
    base = next(iter(results.values())).peak_mb
    table = [
        "| file | size on disk | outcome | peak RSS MB | × the valid import's peak | CPU s |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in results.items():
        table.append(
            f"| {label} | {r.size:,} B | {r.outcome} | {r.peak_mb:.0f} | {r.peak_mb / base:.2f} | {r.cpu_s:.1f} |"
        )
    body = "\n".join(table) + (
        "\n\nEach file imported by `import_focus` in a fresh process (SQLite); peak RSS is that process's "
        "`VmHWM`. Before issue 26 #5 the red team measured 2.1 GiB for a 1 MB gzip of one line and 1.7 GiB "
        "for a 14.5 KB Parquet file with one 400 MB cell. The bounds are in "
        "`service/figures/cost/focus_files.py` and docs/security.md."
    )
    write_section(
        "hostile_imports",
        "Hostile FOCUS files: peak memory beside a valid import",
        "python -m bench.hostile_imports" + (" --quick" if args.quick else ""),
        body,
    )


if __name__ == "__main__":
    main()
