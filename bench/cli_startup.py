"""How long ``frictionlog`` takes to start: wall time of whole CLI processes, beside the bare interpreter.

    python -m bench.cli_startup [--quick] [--before DIR]

Each command runs as a fresh subprocess (``python -m service.app.cli ...``) against an up-to-date SQLite
file, so the figure is what a user waits for. Baselines measured in the same run: ``python -c pass``
(the interpreter alone) and, with ``--before DIR``, the same commands from another checkout (the code
before the lazy imports). ``-X importtime`` names what is imported when a figure grows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import ROOT, spread, write_section

COMMANDS: list[tuple[str, list[str]]] = [
    ("frictionlog --help", ["-m", "service.app.cli", "--help"]),
    ("frictionlog tokens create", ["-m", "service.app.cli", "tokens", "create", "{name}", "--scope", "read"]),
]


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def measure(cwd: Path, runs: int, scratch: Path, tag: str) -> dict[str, list[float]]:
    env = {**os.environ, "FRICTIONLOG_DATABASE_URL": f"sqlite:///{scratch / f'{tag}.db'}", "PYTHONPATH": str(cwd)}
    env.pop("FRICTIONLOG_BROKER_URL", None)
    # The first command creates and migrates the database: that is not start-up, so it is not counted.
    subprocess.run(
        [sys.executable, "-m", "service.app.cli", "db", "upgrade"], cwd=cwd, env=env, check=True, capture_output=True
    )
    times: dict[str, list[float]] = {label: [] for label, _ in COMMANDS}
    for run in range(runs):
        for label, args in COMMANDS:
            filled = [a.replace("{name}", f"bench-{tag}-{run}") for a in args]
            times[label].append(_run(filled, cwd, env))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 runs instead of 10; print only, write nothing")
    parser.add_argument("--before", type=Path, help="another checkout to measure the same commands in")
    options = parser.parse_args()
    runs = 3 if options.quick else 10
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        bare = [_run(["-c", "pass"], ROOT, dict(os.environ)) for _ in range(runs)]
        now = measure(ROOT, runs, scratch, "now")
        before = measure(options.before, runs, scratch, "before") if options.before else None
    rows = [f"| `python -c pass` (the interpreter alone) | {spread(bare, '{:.2f}')} s | |"]
    for label, _ in COMMANDS:
        was = f"{spread(before[label], '{:.2f}')} s" if before else "not measured"
        rows.append(f"| `{label}` | **{spread(now[label], '{:.2f}')} s** | {was} |")
    body = "\n".join(
        [
            f"Wall time of a whole CLI process, median (min–max) of {runs} runs each, on an up-to-date SQLite",
            "database (embedded mode; the CLI checks the schema without importing Alembic when it is at head).",
            "",
            "| command | this checkout | before (same run) |",
            "|---|---|---|",
            *rows,
            "",
            "Goal: under 1 s. Before: pandas, scikit-learn, matplotlib, FastAPI and Celery were imported at",
            "start-up by every command and Alembic ran (and logged two INFO lines) on every one.",
        ]
    )
    print(body)
    if not options.quick:
        command = "python -m bench.cli_startup" + (f" --before {options.before}" if options.before else "")
        write_section("cli_startup", "CLI start-up time", command, body)


if __name__ == "__main__":
    main()
