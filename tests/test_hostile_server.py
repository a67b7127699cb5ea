"""Against a real ``frictionlog serve --access-log`` process, as the attacker and the unlucky operator met
it: forged and oversized posts do not grow the log by their bodies nor the process by their size, a
``?token=`` never reaches the access log, and HTML pages carry the security headers. (Issue 11, findings
2 and 8; the figures are the process's own log file and resident memory.)"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from service.migrations import upgrade
from tests.factories import issue_token
from tests.helpers import make_settings, serve_process

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


@dataclass
class Server:
    url: str
    pid: int
    log: Path
    token: str

    def log_size(self) -> int:
        return self.log.stat().st_size

    def rss(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    upgrade(url)
    token = issue_token(make_settings(url, tmp_path), "reader", ["read", "ingest", "admin"])
    port = free_port()
    env = {
        **os.environ,
        "FRICTIONLOG_DATABASE_URL": url,
        "FRICTIONLOG_BROKER_URL": "",
        "FRICTIONLOG_SPOOL_DIR": str(tmp_path / "spool"),
        "FRICTIONLOG_SLACK_SIGNING_SECRET": "slack-signing-secret",
        "FRICTIONLOG_SLACK_BOT_TOKEN": "xoxb-served",
        "FRICTIONLOG_SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
        "FRICTIONLOG_GITHUB_WEBHOOK_SECRET": "gh-served",
    }
    log = tmp_path / "server.log"
    with serve_process(ROOT, env, log, port=port, timeout=90) as process:
        yield Server(url=f"http://127.0.0.1:{port}", pid=process.pid, log=log, token=token)


def stream(host: str, port: int, path: str, total: int) -> None:
    """POST ``total`` bytes chunked (no Content-Length), as fast as the server takes them; stop when it hangs up."""
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        chunk = b"%x\r\n" % 65536 + b"A" * 65536 + b"\r\n"
        try:
            for _ in range(total // 65536):
                conn.sendall(chunk)
            conn.sendall(b"0\r\n\r\n")
            conn.recv(4096)
        except OSError:  # the server answered 413 and closed: the rest was never read
            return


def test_forged_and_oversized_slack_posts_grow_neither_the_log_nor_the_process(server: Server) -> None:
    forged_headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    before = server.log_size()
    forged = [
        httpx.post(f"{server.url}/slack/events", content=b"text=" + b"F" * 900_000, headers=forged_headers)
        for _ in range(2)
    ]
    oversized = [
        httpx.post(f"{server.url}/slack/events", content=b"text=" + b"O" * (20 * MIB), headers=forged_headers)
        for _ in range(2)
    ]
    time.sleep(0.5)  # let the log handler flush
    grown = server.log_size() - before

    assert [r.status_code for r in forged] == [401, 401]
    assert [r.status_code for r in oversized] == [413, 413]
    assert grown < 10_000, f"the log grew by {grown} bytes"  # was 40 MB for the two 20 MB posts

    host, port = server.url.removeprefix("http://").split(":")
    rss_before = server.rss()
    senders = [threading.Thread(target=stream, args=(host, int(port), "/slack/events", 100 * MIB)) for _ in range(3)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=60)
    grew = server.rss() - rss_before

    assert grew < 64 * MIB, f"resident memory grew by {grew / MIB:.0f} MiB"  # was ~870 MiB for 3 × 100 MB
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_a_query_string_token_never_reaches_the_access_log_and_pages_send_security_headers(server: Server) -> None:
    # ?token= links are retired (the web app signs people in): the request is sent to the sign-in page,
    # and the token it carried is still never written to the access log.
    asked = httpx.get(f"{server.url}/digests/2026-W41", params={"token": server.token, "audience": "leaders"})
    assert asked.status_code == 303
    assert server.token not in asked.headers["location"]  # nor carried on into the sign-in URL
    page = httpx.get(
        f"{server.url}{asked.headers['location']}"
        if asked.headers["location"].startswith("/")
        else asked.headers["location"]
    )
    time.sleep(0.5)
    logged = server.log.read_text()

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "default-src" in page.headers["content-security-policy"]
    assert "/digests/2026-W41?token=[redacted]" in logged  # the line is there, the secret is not
    assert server.token not in logged
