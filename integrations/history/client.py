"""One HTTP client for every history importer: retries, rate limits and the vendor's answer to a missing
credential, written once.

* **Retried with a named reason**: a timeout, a transport error, a 5xx, and a page cut short (a body that
  is not whole JSON). Backoff doubles each try; after the last, :class:`ImportFailed` says what went wrong.
* **Rate limits**: after every answer every quota the vendor reports is read (``x-ratelimit-remaining``/
  ``-reset`` of GitHub, ``RateLimit-Remaining``/``-Reset`` of GitLab and the IETF draft, Linear's two
  budgets ``X-RateLimit-Requests-*`` and ``X-RateLimit-Complexity-*``, the latter spent when what is left
  is less than the last query's ``X-Complexity``); when one is spent the client waits until its reset
  before asking again, so it is refused at most once. A 429, or a 403 that is a rate limit (GitHub's
  secondary limits), waits for its ``Retry-After``, else the reset of a spent quota, else Opsgenie's
  ``X-RateLimit-Period-In-Sec`` (1 or 60: the bucket that was emptied), and asks again; these waits are
  not tries.
* **Refused credentials**: a 401, or a 403 that is not a rate limit, stops the import with
  :class:`CredentialRefused` naming the setting and the scope the token needs. The token itself is only
  ever in a request header, never in a message or a log line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from service.core.errors import AppError, TransientError

log = logging.getLogger("frictionlog.import")

QUOTAS = (
    ("x-ratelimit-remaining", "x-ratelimit-reset"),
    ("ratelimit-remaining", "ratelimit-reset"),
    ("x-ratelimit-requests-remaining", "x-ratelimit-requests-reset"),
    ("x-ratelimit-complexity-remaining", "x-ratelimit-complexity-reset"),
)
"""(remaining, reset) header pairs; a response may carry several (Linear: requests and complexity)."""
REMAINING_HEADERS = tuple(remaining for remaining, _ in QUOTAS)
RESET_HEADERS = tuple(reset for _, reset in QUOTAS)


class ImportFailed(TransientError):
    """A request kept failing after every try (the import stops; run it again to continue)."""


class CredentialRefused(AppError):
    """The vendor refused the credential (401/403): which setting, and which scope it needs."""


@dataclass(frozen=True, slots=True)
class Page:
    """One decoded answer: its JSON and the headers pagination reads (``link``, ``x-next-page``)."""

    url: str
    data: Any
    headers: Mapping[str, str]


@dataclass(slots=True)
class Meter:
    """What a client has done: requests (answered), refused (429 or rate-limit 403), retried, waited."""

    requests: int = 0
    refused: int = 0
    retried: int = 0
    waited_seconds: float = 0.0
    retry_reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Credential:
    """The auth headers and what to say when they are refused."""

    headers: Mapping[str, str]
    setting: str
    """The setting that holds the secret, e.g. ``FRICTIONLOG_GITHUB_TOKEN``."""
    needs: str
    """The scopes or permissions the importer needs, as the vendor names them."""


def reset_wait(value: str, now: float) -> float | None:
    """A reset header as seconds to wait: epoch milliseconds (Linear), epoch seconds (GitHub, GitLab) or a
    delay in seconds (the IETF RateLimit-Reset); None if unreadable."""
    try:
        number = float(value)
    except ValueError:
        return None
    if number > 1e12:
        return max(0.0, number / 1000 - now)
    if number > 1e9:
        return max(0.0, number - now)
    return max(0.0, number)


def header(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    return next((headers[name] for name in names if name in headers), None)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def spent_wait(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until every spent quota in these headers is back (the longest wait), or None if none is
    spent or no spent one says when. Linear's complexity budget is spent when less is left than the last
    query cost (``X-Complexity``), the others at zero."""
    waits = []
    for remaining_name, reset_name in QUOTAS:
        left = _number(headers.get(remaining_name))
        reset = headers.get(reset_name)
        if left is None or reset is None:
            continue
        need = _number(headers.get("x-complexity")) if remaining_name.startswith("x-ratelimit-complexity") else None
        if left <= 0 or (need is not None and left < need):
            wait = reset_wait(reset, now)
            if wait is not None:
                waits.append(wait)
    return max(waits) if waits else None


class ApiClient:
    """GET and POST JSON with the rules above. ``sleep`` and ``clock`` (epoch seconds) are injectable so
    a benchmark can run a scaled-down hour; ``on_wait`` is told every rate-limit wait (progress)."""

    def __init__(
        self,
        base_url: str,
        credential: Credential,
        *,
        timeout: float = 30.0,
        attempts: int = 5,
        backoff_seconds: float = 1.0,
        max_wait_seconds: float = 3900.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        on_wait: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credential = credential
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.max_wait_seconds = max_wait_seconds
        self.sleep = sleep
        self.clock = clock
        self.on_wait = on_wait
        self.meter = Meter()
        self._resume_at = 0.0
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"User-Agent": "frictionlog-import", "Accept": "application/json", **credential.headers},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def url(self, path_or_url: str) -> str:
        return path_or_url if path_or_url.startswith(("http://", "https://")) else self.base_url + path_or_url

    def get(self, path_or_url: str, params: Mapping[str, str | int] | None = None, *, scope: str = "") -> Page:
        return self.request("GET", path_or_url, params=params, scope=scope)

    def post(self, path_or_url: str, body: Any, *, scope: str = "") -> Page:
        return self.request("POST", path_or_url, body=body, scope=scope)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        scope: str = "",
    ) -> Page:
        """One answered, decoded page; waits and retries as the module says."""
        url = self.url(path_or_url)
        problem = ""
        attempt = 0
        while attempt < self.attempts:
            self._wait_for_quota()
            try:
                response = self._http.request(method, url, params=params, json=body)
            except httpx.TimeoutException:
                problem = "timed out"
            except httpx.TransportError as exc:
                problem = f"transport error ({exc.__class__.__name__})"
            else:
                self.meter.requests += 1
                self._note_quota(response)
                outcome = self._judge(response, scope)
                if isinstance(outcome, Page):
                    return outcome
                if outcome is None:  # a rate-limit refusal: waited, not a try
                    continue
                problem = outcome
            attempt += 1
            self._retry(url, attempt, problem)
        raise ImportFailed(f"{_shown(url)}: {problem} after {self.attempts} tries")

    def _retry(self, url: str, attempt: int, problem: str) -> None:
        self.meter.retried += 1
        self.meter.retry_reasons.append(problem)
        log.warning("import.retry url=%s attempt=%s problem=%s", _shown(url), attempt, problem)
        if attempt < self.attempts:
            self.sleep(self.backoff_seconds * 2 ** (attempt - 1))

    def _judge(self, response: httpx.Response, scope: str) -> Page | str | None:
        """A Page, a problem to retry (str), or None after waiting out a rate-limit refusal."""
        status = response.status_code
        if status == 429 or (status in (400, 403) and _is_rate_limit(response)):
            self.meter.refused += 1
            self._wait(self._refusal_wait(response), f"HTTP {status}")
            return None
        if status in (401, 403):
            raise CredentialRefused(
                f"{self.credential.setting} was refused (HTTP {status}) reading {scope or _shown(str(response.url))}:"
                f" it needs {self.credential.needs}"
            )
        if status >= 500:
            return f"HTTP {status}"
        if status >= 400:
            raise ImportFailed(f"{_shown(str(response.url))}: HTTP {status} {_message(response)}")
        try:
            data = json.loads(response.content) if response.content else None
        except ValueError:
            return "truncated page (the answer is not whole JSON)"
        return Page(str(response.url), data, response.headers)

    def _note_quota(self, response: httpx.Response) -> None:
        wait = spent_wait(response.headers, self.clock())
        if wait is not None:
            self._resume_at = max(self._resume_at, self.clock() + wait)

    def _refusal_wait(self, response: httpx.Response) -> float:
        retry_after = response.headers.get("retry-after")
        if retry_after is not None:
            wait = reset_wait(retry_after, self.clock())
            if wait is not None:
                return wait
        wait = spent_wait(response.headers, self.clock())
        if wait is None:
            reset = header(response.headers, RESET_HEADERS)
            wait = reset_wait(reset, self.clock()) if reset is not None else None
        if wait is None:  # Opsgenie: the period of the bucket that was emptied (1 or 60 seconds)
            wait = _number(response.headers.get("x-ratelimit-period-in-sec"))
        return wait if wait is not None else 60.0  # GitHub: "wait at least one minute" when nothing says

    def _wait_for_quota(self) -> None:
        wait = self._resume_at - self.clock()
        if wait > 0:
            self._wait(wait, "quota used up")

    def _wait(self, seconds: float, why: str) -> None:
        if seconds > self.max_wait_seconds:
            raise ImportFailed(
                f"the rate limit resets in {seconds:.0f} s, more than FRICTIONLOG_IMPORT_MAX_WAIT_SECONDS; "
                "run the import again later to continue"
            )
        log.info("import.rate_limit_wait seconds=%.1f why=%s", seconds, why)
        self.meter.waited_seconds += seconds
        if self.on_wait is not None:
            self.on_wait(seconds)
        self.sleep(seconds)


def _is_rate_limit(response: httpx.Response) -> bool:
    """GitHub answers a primary or secondary rate limit with 403 (or 429), Linear with 400 and the error
    code ``RATELIMITED``: a retry-after, no quota left, or a message saying so."""
    if "retry-after" in response.headers or response.headers.get("x-ratelimit-state") == "THROTTLED":
        return True
    if any(response.headers.get(name) == "0" for name in REMAINING_HEADERS):
        return True
    text = response.text[:1000].lower()
    return "rate limit" in text or "ratelimited" in text


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    found = data.get("message") or data.get("error") if isinstance(data, dict) else None
    return str(found)[:200] if found else ""


def _shown(url: str) -> str:
    """A URL for a message or a log line: without its query (no token ever rides there, but a cursor may be long)."""
    return url.split("?", 1)[0]
