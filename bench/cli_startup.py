"""How long ``frictionlog`` takes to start: wall time of whole CLI processes, beside the bare interpreter.

    python -m bench.cli_startup [--quick] [--before DIR]

Each command runs as a fresh subprocess (``python -m service.app.cli ...``) against an up-to-date SQLite
file, so the figure is what a user waits for; ``frictionlog digest`` runs on the demo data (``frictionlog
demo``, 16 weeks, seeded; each checkout makes its own). Baselines measured in
the same run: ``python -c pass`` (the interpreter alone) and, with ``--before DIR``, the same commands
from another checkout (the code before the lazy imports). ``-X importtime`` names what is imported when a figure grows.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import ROOT, spread, write_section

COMMANDS: list[tuple[str, list[str]]] = [
    ("frictionlog --help", ["-m", "service.app.cli", "--help"]),
    ("frictionlog tokens create", ["-m", "service.app.cli", "tokens", "create", "{name}", "--scope", "read"]),
    ("frictionlog digest (demo data)", ["-m", "service.app.cli", "digest"]),
]
DEMO = "frictionlog digest (demo data)"


CPU: dict[str, list[float]] = {}
"""CPU seconds (user + system) of each timed process by label: on a shared machine the wall time also
counts waiting for a core, which the CPU time does not."""


def _run(args: list[str], cwd: Path, env: dict[str, str], label: str = "") -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU.setdefault(label, []).append(cpu)
    return wall


def _env(cwd: Path, database: Path) -> dict[str, str]:
    """Each command's environment: its database, its checkout first on the path, no broker — and bytecode
    cached as an installed package has it (pip compiles it at install; a checkout writes it on its first
    run, here the untimed ``db upgrade``). A shell with PYTHONDONTWRITEBYTECODE would otherwise have every
    timed process compile the project's ~100 modules from source again (~0.2 s of CPU)."""
    env = {**os.environ, "FRICTIONLOG_DATABASE_URL": f"sqlite:///{database}", "PYTHONPATH": str(cwd)}
    env.pop("FRICTIONLOG_BROKER_URL", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def demo_database(cwd: Path, scratch: Path, tag: str) -> Path:
    """The demo data (seeded: the same in every checkout), made by the checkout itself so its schema is the
    one that checkout knows (not timed)."""
    env = _env(cwd, scratch / f"{tag}-unused.db")
    demo = [sys.executable, "-m", "service.app.cli", "demo", "--data-dir", str(scratch / f"{tag}-demo")]
    subprocess.run(demo, cwd=cwd, env=env, check=True, capture_output=True)
    return scratch / f"{tag}-demo" / "frictionlog.db"


DEMOS: dict[str, Path] = {}
"""Each checkout's demo database, by tag."""


def same_digest(checkouts: dict[str, Path], database: Path) -> str:
    """Whether every checkout's ``frictionlog digest --json`` on one demo database says the same, byte for
    byte (two demo databases differ in when they were made: the criteria's ``changed_at``)."""
    outputs = []
    for cwd in checkouts.values():
        digest = [sys.executable, "-m", "service.app.cli", "digest", "--json"]
        done = subprocess.run(digest, cwd=cwd, env=_env(cwd, database), check=False, capture_output=True)
        if done.returncode != 0:
            return f"not compared ({cwd} could not read it)."
        outputs.append(done.stdout)
    return "identical, byte for byte." if len(set(outputs)) == 1 else "**different**."


def measure(cwd: Path, runs: int, scratch: Path, tag: str) -> dict[str, list[float]]:
    env = _env(cwd, scratch / f"{tag}.db")
    # The first command creates and migrates the database: that is not start-up, so it is not counted.
    subprocess.run(
        [sys.executable, "-m", "service.app.cli", "db", "upgrade"], cwd=cwd, env=env, check=True, capture_output=True
    )
    own_demo = demo_database(cwd, scratch, tag)
    times: dict[str, list[float]] = {label: [] for label, _ in COMMANDS}
    DEMOS[tag] = own_demo
    for run in range(runs):
        for label, args in COMMANDS:
            filled = [a.replace("{name}", f"bench-{tag}-{run}") for a in args]
            times[label].append(
                _run(filled, cwd, _env(cwd, Path(own_demo)) if label == DEMO else env, f"{tag}:{label}")
            )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 runs instead of 10; print only, write nothing")
    parser.add_argument("--before", type=Path, help="another checkout to measure the same commands in")
    options = parser.parse_args()
    runs = 3 if options.quick else 10
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        bare = [_run(["-c", "pass"], ROOT, dict(os.environ), "bare") for _ in range(runs)]
        now = measure(ROOT, runs, scratch, "now")
        before = measure(options.before, runs, scratch, "before") if options.before else None
        same = (
            []
            if options.before is None
            else [
                "",
                "The JSON digest (`frictionlog digest --json`) of the two checkouts on this checkout's demo data: "
                + same_digest({"now": ROOT, "before": options.before}, DEMOS["now"]),
            ]
        )
    rows = [
        f"| `python -c pass` (the interpreter alone) | {spread(bare, '{:.2f}')} s | "
        f"{spread(CPU['bare'], '{:.2f}')} s | | |"
    ]
    for label, _ in COMMANDS:
        was = f"{spread(before[label], '{:.2f}')} s" if before else "not measured"
        was_cpu = f"{spread(CPU[f'before:{label}'], '{:.2f}')} s" if before else "not measured"
        rows.append(
            f"| `{label}` | **{spread(now[label], '{:.2f}')} s** | **{spread(CPU[f'now:{label}'], '{:.2f}')} s** "
            f"| {was} | {was_cpu} |"
        )
    load = os.getloadavg()[0]
    body = "\n".join(
        [
            f"Wall and CPU (user + system) time of a whole CLI process, median (min–max) of {runs} runs each, on",
            "an up-to-date SQLite database (embedded mode; the CLI checks the schema without importing Alembic",
            f"when it is at head). Load average when it finished: {load:.1f} on {os.cpu_count()} cores; the machine",
            "is shared, so wall time includes waiting for a core and the CPU time is the steadier figure.",
            "",
            "| command | this checkout: wall | CPU | before (same run): wall | CPU |",
            "|---|---|---|---|---|",
            *rows,
            *same,
            "",
            "Goal: under 1 s to start; `frictionlog digest` on the demo data in at most 2 s (issue 25 #16).",
            "Earlier (--help, tokens): pandas, scikit-learn, matplotlib, FastAPI and Celery were imported at",
            "start-up by every command and Alembic ran on every one; (digest) matplotlib, the Slack client, Celery,",
            "scipy.stats and scikit-learn were imported by every digest. Now (digest) no scipy either: the themes'",
            "pairwise similarities are summed in scipy.sparse's order without it (service/figures/friction/tfidf.py)",
            "and the few-cluster t and normal quantiles at the 90 % level are tabulated from scipy.special",
            "(service/effects/quantiles.py); the bootstrap's quantiles of columns with missing replicates are one",
            "vectorised pass, not one np.nanquantile per column; the cost rollup's NaN-keeping sums make no pandas",
            "call per group; the taxonomy's ~240 term expressions are compiled when a text is scored (a digest",
            "reads titles only), and it is read with libyaml. Every figure is the same bit for bit",
            "(tests/test_startup_figures.py, tests/test_tfidf.py) and the JSON digests are compared above. Timed",
            "processes run with bytecode cached, as an installed package has it (PYTHONDONTWRITEBYTECODE, set in",
            "some shells, is dropped for them: it made every run compile the project's modules again, ~0.2 s).",
            "What is left is pandas, SQLAlchemy and the models, and the digest's own computation (the effects).",
        ]
    )
    print(body)
    if not options.quick:
        command = "python -m bench.cli_startup" + (f" --before {options.before}" if options.before else "")
        write_section("cli_startup", "CLI start-up time", command, body)


if __name__ == "__main__":
    main()
