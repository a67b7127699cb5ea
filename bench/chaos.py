"""Chaos run: while a load generator posts events, SIGKILL a worker, restart Redis and stop PostgreSQL;
afterwards every request that got a 2xx must be processed exactly once. Prints the counts.

    python -m bench.chaos [--quick]          (tests/test_chaos.py runs a short one in the suite)

Everything is real and local: the API (`frictionlog api`), two Celery workers in turn, beat, Redis (it
keeps nothing on disk, so queued messages vanish with it) and the PostgreSQL server itself, stopped
with pg_ctlcluster and started again. Whatever happens, Redis and PostgreSQL are running again when
this returns.

The load generator behaves like a webhook sender: each event has its own delivery id; a refused or
failed request is retried a few times with the same id (the inbox answers a resend as a duplicate).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

from bench.harness import database_name, free_port, frictionlog
from bench.report import write_section

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/12"
REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]


@dataclass(frozen=True)
class Plan:
    rate: float = 300.0
    """Events per second the load generator aims at."""
    phase_seconds: float = 6.0
    """Load before the first fault, between faults and after the last."""
    database_down_seconds: float = 20.0
    settle_timeout: float = 180.0
    """How long the run may take to process everything once the load stops."""


@dataclass
class Report:
    sent: int = 0
    """Distinct events the generator tried to deliver."""
    accepted: int = 0
    """Distinct events answered 2xx (some only after a retry)."""
    refused: int = 0
    """Distinct events never answered 2xx after every retry: the sender knows they were not taken."""
    spooled: int = 0
    """2xx answers given while the database was down (``id`` null: the event waited on the spool)."""
    retried: int = 0
    stored: int = 0
    """Inbox rows of this run."""
    processed: int = 0
    not_processed: int = 0
    """Inbox rows in any other status when the run ends."""
    applied_more_than_once: int = 0
    """Processed rows whose attempt counter is not 1 (applied in more than one committed transaction)."""
    missing: int = 0
    """Events answered 2xx with no deployment row."""
    doubled: int = 0
    """Deployment rows beyond one per event."""
    unexpected: int = 0
    """Deployment rows for events never answered 2xx (allowed: a request may commit and lose its answer)."""
    timeline: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"sent {self.sent}, answered 2xx {self.accepted} ({self.spooled} while the database was down, "
            f"spooled), refused after retries {self.refused}, retries {self.retried}",
            f"inbox rows {self.stored}: processed {self.processed}, other {self.not_processed}, "
            f"applied more than once {self.applied_more_than_once}",
            f"2xx events missing {self.missing}, doubled {self.doubled}, stored without a 2xx {self.unexpected}",
        ]


def _event(number: int) -> dict[str, object]:
    finished = datetime(2026, 11, 2, tzinfo=UTC) + timedelta(seconds=number)
    return {
        "type": "deployment",
        "delivery_id": f"chaos-{number}",
        "id": f"chaos-{number}",
        "service": f"svc-{number % 20}",
        "environment": "production",
        "status": "success",
        "finished_at": finished.isoformat(),
    }


class Load:
    """Posts events at a steady rate from a few threads until stopped; records each event's outcome."""

    def __init__(self, url: str, token: str, rate: float, *, threads: int = 4) -> None:
        self._url, self._rate, self._threads = url, rate, threads
        self._headers = {"Authorization": f"Bearer {token}"}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._next = 0
        self.accepted: set[int] = set()
        self.refused: set[int] = set()
        self.spooled = 0
        self.retried = 0
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=60)

    @property
    def sent(self) -> int:
        return len(self.accepted) + len(self.refused)

    def _take(self) -> int | None:
        """The next event's number once it is due; None when the load stops first."""
        with self._lock:
            number = self._next
            self._next += 1
        delay = self._started + number / self._rate - time.monotonic()
        if delay > 0 and self._stop.wait(delay):
            return None
        return number

    def _run(self) -> None:
        with httpx.Client(timeout=15) as client:
            while not self._stop.is_set():
                number = self._take()
                if number is None:
                    return
                self._deliver(client, number)

    def _deliver(self, client: httpx.Client, number: int) -> None:
        event = _event(number)
        for attempt in range(6):
            if attempt:
                with self._lock:
                    self.retried += 1
                time.sleep(0.5 * attempt)
            try:
                answer = client.post(self._url, json=event, headers=self._headers)
            except httpx.HTTPError:
                continue
            if answer.is_success:
                with self._lock:
                    self.accepted.add(number)
                    self.spooled += answer.json().get("id") is None
                return
        with self._lock:
            self.refused.add(number)


def _pg_version() -> str:
    return sorted(os.listdir("/etc/postgresql"))[0]


def _pg_up() -> bool:
    try:
        with psycopg.connect(ADMIN, connect_timeout=2) as connection:
            connection.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)


def start_postgres() -> None:
    if not _pg_up():
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", _pg_version(), "main", "start"],
            check=False,
            capture_output=True,
        )
    _wait(_pg_up, 60, "PostgreSQL to accept connections")


def stop_postgres() -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", _pg_version(), "main", "stop", "-m", "fast"],
        check=True,
        capture_output=True,
    )


def _redis_up() -> bool:
    try:
        return subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True, text=True).stdout.strip() == (
            "PONG"
        )
    except OSError:
        return False


def start_redis() -> None:
    if not _redis_up():
        Path("/var/lib/redis").mkdir(parents=True, exist_ok=True)
        Path("/var/log/redis").mkdir(parents=True, exist_ok=True)
        subprocess.run(REDIS_START, check=False, capture_output=True)
    _wait(_redis_up, 30, "Redis to answer")


def restart_redis() -> None:
    """Redis keeps nothing on disk here: every queued message is gone after this."""
    subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], check=False, capture_output=True)
    _wait(lambda: not _redis_up(), 10, "Redis to stop")
    start_redis()


@contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as output:
        proc = subprocess.Popen(
            [sys.executable, "-m", "service.app.cli", *args],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill reaches the worker's children too
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def _counts(dsn: str, load: Load, report: Report) -> None:
    with psycopg.connect(dsn) as connection:
        statuses: dict[str, int] = dict(
            connection.execute("SELECT status, count(*) FROM inbox_event GROUP BY status").fetchall()
        )
        report.stored = sum(statuses.values())
        report.processed = statuses.get("processed", 0)
        report.not_processed = report.stored - report.processed
        again = connection.execute("SELECT count(*) FROM inbox_event WHERE status = 'processed' AND attempts <> 1")
        report.applied_more_than_once = int(again.fetchone()[0])  # type: ignore[index]
        rows = connection.execute("SELECT external_id, count(*) FROM deployment GROUP BY external_id").fetchall()
    per_event = {int(external_id.removeprefix("chaos-")): count for external_id, count in rows}
    report.missing = sum(1 for number in load.accepted if number not in per_event)
    report.doubled = sum(count - 1 for count in per_event.values())
    report.unexpected = sum(1 for number in per_event if number not in load.accepted)


def run(plan: Plan, workdir: Path, *, say: Callable[[str], None] = print) -> Report:
    """One chaos run in ``workdir`` (logs and the spool stay there). Raises if the run itself breaks."""
    start_postgres()
    start_redis()
    report = Report()
    started = time.monotonic()

    def mark(what: str) -> None:
        line = f"t={time.monotonic() - started:5.1f}s {what}"
        report.timeline.append(line)
        say(line)

    with ExitStack() as stack:
        name = stack.enter_context(database_name())
        dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
        env = {
            "FRICTIONLOG_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
            "FRICTIONLOG_BROKER_URL": REDIS_URL,
            "FRICTIONLOG_SPOOL_DIR": str(workdir / "spool"),
            "FRICTIONLOG_SWEEP_AFTER_SECONDS": "2",
            "FRICTIONLOG_SWEEP_INTERVAL_SECONDS": "2",
            "FRICTIONLOG_INGEST_RETRY_BASE_SECONDS": "0.5",
            "FRICTIONLOG_INGEST_BATCH_SIZE": "200",
            "FRICTIONLOG_TOKEN_CACHE_SECONDS": "600",
        }
        frictionlog("db", "upgrade", env=env)
        token = frictionlog("tokens", "create", "chaos", "--scope", "ingest", env=env).strip()
        port = free_port()
        api_args = ["--log-level", "INFO", "api", "--host", "127.0.0.1", "--port", str(port)]
        stack.enter_context(_process(api_args, env, workdir / "api.log"))
        beat_args = ["beat", "--schedule-file", str(workdir / "beat-schedule")]
        stack.enter_context(_process(beat_args, env, workdir / "beat.log"))
        worker_args = ["worker", "--concurrency", "2"]
        env_a = {**env, "FRICTIONLOG_DATABASE_URL": env["FRICTIONLOG_DATABASE_URL"] + "?application_name=chaos-a"}
        first = stack.enter_context(_process([*worker_args, "--name", "chaos-a@%h"], env_a, workdir / "worker-a.log"))
        _wait(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 30, "the API")
        stack.callback(start_postgres)  # whatever happens below, the servers are up again afterwards
        stack.callback(start_redis)

        load = Load(f"http://127.0.0.1:{port}/webhooks/generic", token, plan.rate)
        load.start()
        mark(f"load started at {plan.rate:.0f} events/s")
        try:
            time.sleep(plan.phase_seconds)
            holding = writing_transactions(name, "chaos-a")
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            mark(f"worker A killed (SIGKILL, whole process group) with {holding} open writing transaction(s)")
            stack.enter_context(_process([*worker_args, "--name", "chaos-b@%h"], env, workdir / "worker-b.log"))
            mark("worker B started")
            time.sleep(plan.phase_seconds)
            restart_redis()
            mark("Redis restarted (every queued message lost)")
            time.sleep(plan.phase_seconds)
            stop_postgres()
            mark(f"PostgreSQL stopped for {plan.database_down_seconds:.0f} s")
            time.sleep(plan.database_down_seconds)
            start_postgres()
            mark("PostgreSQL started")
            time.sleep(plan.phase_seconds)
        finally:
            load.stop()
        mark(f"load stopped after {load.sent} events")

        def settled() -> bool:
            if any((workdir / "spool").glob("spool-*")):
                return False
            with psycopg.connect(dsn) as connection:
                pending = connection.execute("SELECT count(*) FROM inbox_event WHERE status = 'pending'").fetchone()
            return pending is not None and pending[0] == 0

        _wait(settled, plan.settle_timeout, "the spool to drain and the inbox to be processed")
        mark("spool drained, nothing pending")
        report.sent, report.accepted, report.refused = load.sent, len(load.accepted), len(load.refused)
        report.spooled, report.retried = load.spooled, load.retried
        _counts(dsn, load, report)
    return report


def writing_transactions(database: str, application: str) -> int:
    """Open transactions of that process that have written: claimed inbox rows it holds uncommitted."""
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s"
            " AND backend_xid IS NOT NULL",
            (database, application),
        ).fetchone()
    return int(row[0]) if row else 0


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="short phases and a 5 s database outage")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "chaos")
    args = parser.parse_args()
    plan = Plan(phase_seconds=3, database_down_seconds=5) if args.quick else Plan()
    args.workdir.mkdir(parents=True, exist_ok=True)
    report = run(plan, args.workdir)
    counts = "\n".join(f"- {line}" for line in report.lines())
    timeline = "\n".join(f"    {line}" for line in report.timeline)
    body = f"""
A load generator posts generic deployment events ({plan.rate:.0f}/s, each with its own delivery id; a
failed request is retried with the same id, as senders do) to `frictionlog api` with a Celery worker,
beat, Redis and PostgreSQL, all real and local. Meanwhile: SIGKILL the worker (its whole process group)
and start another; restart Redis (it keeps nothing on disk: queued messages vanish); stop the PostgreSQL
server for {plan.database_down_seconds:.0f} s. Then wait until the spool is drained and nothing is pending, and count.

{counts}

Timeline:

{timeline}

Passes when no 2xx event is missing, none doubled, and every inbox row was applied in exactly one
committed transaction (`attempts = 1`). The suite runs a shorter one on every `make test`
(`tests/test_chaos.py`: 3 s phases, 5 s without the database).
"""
    print(body)
    bad = report.missing or report.doubled or report.applied_more_than_once or report.not_processed
    if not args.quick:
        write_section("chaos", "Chaos run: nothing lost, nothing doubled", "python -m bench.chaos", body)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
