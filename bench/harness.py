"""Shared bench plumbing: a real server in a subprocess, bounded load from this process, percentiles."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def frictionlog(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "service.app.cli", "--log-level", "WARNING", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@dataclass
class Server:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes] = field(repr=False)


@contextmanager
def server(env: dict[str, str], *, command: tuple[str, ...] = ("serve",), workers: int = 1) -> Iterator[Server]:
    """``frictionlog serve`` (or ``api``) on a free port, started and stopped here; migrations applied first."""
    port = free_port()
    full_env = {**os.environ, **env}
    frictionlog("db", "upgrade", env=env)
    args = [
        sys.executable,
        "-m",
        "service.app.cli",
        "--log-level",
        "WARNING",
        *command,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if command[0] == "api":
        args += ["--workers", str(workers)]
    process = subprocess.Popen(args, env=full_env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError("the server did not start")
        time.sleep(0.1)
    try:
        yield Server(url=url, env=env, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def database_name() -> Iterator[str]:
    """A fresh PostgreSQL database for one run (its name), dropped afterwards."""
    name = f"frictionlog_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database() -> Iterator[str]:
    """The same, as the SQLAlchemy URL the service takes."""
    with database_name() as name:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def deployment_batches(token: str, size: int) -> Callable[[httpx.Client, int], int]:
    """A sender for ``PacedLoad``: request ``i`` posts ``size`` new generic deployment events."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def send(client: httpx.Client, i: int) -> int:
        finished = datetime.now(UTC).isoformat()
        events = [
            {
                "type": "deployment",
                "id": f"load-{i}-{j}",
                "service": f"svc-{(i * size + j) % 200}",
                "environment": "production",
                "status": "success",
                "finished_at": finished,
            }
            for j in range(size)
        ]
        return client.post("/webhooks/generic", content=json.dumps(events), headers=headers).status_code

    return send


@contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """``frictionlog <args>`` in the background (a worker, beat, the API), stopped afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.app.cli", "--log-level", "WARNING", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def sqlite_env(directory: Path) -> dict[str, str]:
    return {
        "FRICTIONLOG_DATABASE_URL": f"sqlite:///{directory / 'bench.db'}",
        "FRICTIONLOG_BROKER_URL": "",
        "FRICTIONLOG_SPOOL_DIR": str(directory / "spool"),
    }


@contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="frictionlog-bench-") as directory:
        yield Path(directory)


def run_load(
    send: Callable[[httpx.Client, int], int], *, total: int, concurrency: int, url: str
) -> tuple[list[float], int, float]:
    """``total`` requests from ``concurrency`` threads; returns (latencies in ms, non-2xx count, seconds)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(total))

    def worker() -> None:
        nonlocal errors
        with httpx.Client(base_url=url, timeout=30) as client:
            for i in counter:
                started = time.perf_counter()
                status = send(client, i)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    errors += not 200 <= status < 300

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


class PacedLoad:
    """Background load at a steady rate (bounded in time), e.g. webhooks at 1,000 events/s."""

    def __init__(self, send: Callable[[httpx.Client, int], int], *, rate: float, url: str, threads: int = 4) -> None:
        self._send, self._rate, self._url, self._threads = send, rate, url, threads
        self._stop = threading.Event()
        self.sent = 0
        self.errors = 0
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def _run(self, offset: int) -> None:
        interval = self._threads / self._rate
        next_at = time.perf_counter()
        with httpx.Client(base_url=self._url, timeout=30) as client:
            i = offset
            while not self._stop.is_set():
                status = self._send(client, i)
                with self._lock:
                    self.sent += 1
                    self.errors += not 200 <= status < 300
                i += self._threads
                next_at += interval
                pause = next_at - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)

    def __enter__(self) -> PacedLoad:
        self.started = time.perf_counter()
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)
        self.seconds = time.perf_counter() - self.started
