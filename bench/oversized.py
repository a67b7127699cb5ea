"""Forged and oversized posts to ``/slack/events``: how much they grow the server's log and memory, for
this tree and for a baseline commit (by default the code before issue 11), in the same run.

Each tree runs as ``frictionlog serve --access-log`` (SQLite, embedded). Two 20 MiB posts with a bad
signature (declared length), then three concurrent 100 MiB chunked posts with no length; the log file's
growth and the process's resident memory (sampled every 50 ms: before, peak, after) are reported.

    python -m bench.oversized [--baseline COMMIT]
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.harness import free_port
from bench.report import write_section
from tests.helpers import serve_process

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
FORGED = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Signature": "v0=" + "0" * 64}


def _rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _stream(port: int, total: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(
            "POST /slack/events HTTP/1.1\r\nHost: bench\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"X-Slack-Request-Timestamp: {int(time.time())}\r\nX-Slack-Signature: v0={'0' * 64}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        chunk = b"%x\r\n" % 65536 + b"A" * 65536 + b"\r\n"
        try:
            for _ in range(total // 65536):
                conn.sendall(chunk)
            conn.sendall(b"0\r\n\r\n")
            conn.recv(4096)
        except OSError:  # the server refused and closed: the rest was never read
            return


@dataclass(frozen=True)
class Measured:
    codes: list[int]
    log_growth: int
    rss_before: float
    rss_peak: float
    rss_after: float


def measure(tree: Path, work: Path) -> Measured:
    port = free_port()
    env = {
        **os.environ,
        "FRICTIONLOG_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
        "FRICTIONLOG_BROKER_URL": "",
        "FRICTIONLOG_SPOOL_DIR": str(work / "spool"),
        "FRICTIONLOG_SLACK_SIGNING_SECRET": "bench-secret",
        "FRICTIONLOG_SLACK_BOT_TOKEN": "xoxb-bench",
        "FRICTIONLOG_SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
    }
    log = work / "server.log"
    base = f"http://127.0.0.1:{port}"
    with serve_process(tree, env, log, port=port) as server:
        before = log.stat().st_size
        headers = {**FORGED, "X-Slack-Request-Timestamp": str(int(time.time()))}
        codes = [
            httpx.post(
                f"{base}/slack/events", content=b"text=" + b"O" * (20 * MIB), headers=headers, timeout=60
            ).status_code
            for _ in range(2)
        ]
        time.sleep(0.5)
        grown = log.stat().st_size - before
        start = _rss(server.pid)
        peak = [start]
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _rss(server.pid))
                time.sleep(0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        senders = [threading.Thread(target=_stream, args=(port, 100 * MIB)) for _ in range(3)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(timeout=120)
        time.sleep(0.5)
        done.set()
        watcher.join()
        return Measured(codes, grown, start, peak[0], _rss(server.pid))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default="fa27a87", help="the commit to compare with (before issue 11)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "baseline"
        old.mkdir()
        archive = subprocess.run(["git", "archive", args.baseline], cwd=ROOT, check=True, capture_output=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(old, filter="data")
        results = {}
        for name, tree in ((f"baseline `{args.baseline}`", old), ("this tree", ROOT)):
            work = Path(tmp) / ("work-" + name.split()[0])
            work.mkdir()
            results[name] = measure(tree, work)
    rows = [
        f"| {name} | {m.codes} | {m.log_growth:,} | {m.rss_before:.0f} | {m.rss_peak:.0f} | {m.rss_after:.0f} |"
        for name, m in results.items()
    ]
    body = f"""
Two 20 MiB `/slack/events` posts with a bad signature, then three concurrent 100 MiB chunked posts with no
`Content-Length`, against `frictionlog serve --access-log` (SQLite, embedded), one process per tree. Log
growth is the server log file's, for the two 20 MiB posts; memory is the process's resident set, sampled
every 50 ms around the three chunked posts.

| code | answers to 2 × 20 MiB | log growth, bytes | RSS before, MiB | RSS peak, MiB | RSS after, MiB |
|---|---|---|---|---|---|
{chr(10).join(rows)}

The baseline let bolt read every body and log it whole on a signature failure; this tree caps the body
as it arrives (413 at `FRICTIONLOG_MAX_BODY_BYTES`, nothing buffered past it) and verifies the signature
before bolt, which never logs a body. `tests/test_hostile_server.py` asserts the same bounds.
"""
    sys.stdout.write(body)
    write_section("oversized", "Forged and oversized posts: log and memory", "python -m bench.oversized", body)


if __name__ == "__main__":
    main()
