"""A local HTTP server standing in for Slack's Web API and response URLs; the real slack_sdk talks to it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.standin import JsonHandler, first_values, serving


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.errors: dict[tuple[str, str], str] = {}
        """(method, channel) → the error Slack answers, e.g. ("chat.postMessage", "C0GONE"): "channel_not_found"."""
        self.broken_paths: set[str] = set()
        """Paths answered with HTTP 500 (an expired or broken response_url)."""
        self._lock = threading.Lock()
        self.url = ""

    def record(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls.append((method, body))
        error = self.errors.get((method, str(body.get("channel", ""))))
        if error:
            return {"ok": False, "error": error}
        canned: dict[str, dict[str, Any]] = {
            "auth.test": {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T0001", "team": "acme"},
            # A new ts for every message, as Slack gives, so a stored ts can be traced to its post.
            "chat.postMessage": {"ok": True, "channel": body.get("channel"), "ts": f"1700000000.{len(self.calls):06d}"},
            "chat.getPermalink": {"ok": True, "permalink": "https://acme.slack.com/archives/C1/p1700000000000100"},
        }
        return canned.get(method, {"ok": True})

    def answer_ts(self, method: str, *, channel: str) -> str:
        """The ts the last ``method`` call to ``channel`` was answered with."""
        with self._lock:
            index = max(
                i for i, (name, body) in enumerate(self.calls) if name == method and body.get("channel") == channel
            )
        return f"1700000000.{index + 1:06d}"

    def of(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [body for name, body in self.calls if name == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.of(method)) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"Slack never received {count} × {method}; got {[name for name, _ in self.calls]}")
            time.sleep(0.02)
        return self.of(method)


def _handler(fake: FakeSlack) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:  # http.server's name
            self._answer(*self.path_and_query())

        def do_POST(self) -> None:
            raw = self.raw_body()
            if "json" in self.headers.get("Content-Type", ""):
                body = json.loads(raw or b"{}")
            else:
                body = first_values(raw.decode())
                for key in ("blocks", "view"):
                    if isinstance(body.get(key), str):
                        body[key] = json.loads(body[key])
            self._answer(self.path, body)

        def _answer(self, path: str, body: dict[str, Any]) -> None:
            method = path.strip("/").removeprefix("api/")
            answer = fake.record(method, body)
            self.reply(500 if method in fake.broken_paths else 200, answer)

    return Handler


@contextmanager
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    with serving(_handler(fake)) as url:
        fake.url = f"{url}/api/"
        yield fake


Poll = Callable[[], bool]
