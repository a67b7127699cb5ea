"""The one base for the local HTTP stand-ins (tests/slack_fake.py, tests/oidc_fake.py,
tests/pull_standins.py): a threaded server on a free port of 127.0.0.1 and a request handler with the
parsing and the JSON replies they all need. Each stand-in adds only what its real service answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def first_values(encoded: str) -> dict[str, str]:
    """``a=1&b=2`` → ``{"a": "1", "b": "2"}`` (the first value of a repeated key)."""
    return {key: values[0] for key, values in parse_qs(encoded).items()}


class JsonHandler(BaseHTTPRequestHandler):
    """Quiet (no access log on stderr); ``path_and_query``, ``raw_body`` and ``form`` read the request,
    ``reply`` answers JSON. A client that hung up (a timeout test) is not an error of the stand-in."""

    def path_and_query(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        return parts.path, first_values(parts.query)

    def raw_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def form(self) -> dict[str, str]:
        return first_values(self.raw_body().decode())

    def reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *_args: Any) -> None:
        return


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free port in a daemon thread; yields ``http://127.0.0.1:<port>``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
