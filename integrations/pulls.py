"""Scheduled pulls (OpenCost, Prometheus): fetch whole past days, then write each as one inbox delivery.

A pull never writes a partial window: every request of a day must succeed before that day's delivery is
stored, and the delivery key names the window, so a second pull of the same day is a duplicate. The
inbox row is the raw response; the workers parse it like any webhook, so ``replay`` and ``rebuild``
cover pulled data too. Requests use httpx with a timeout; timeouts, transport errors and 5xx are retried
with backoff, and after the last try the pull is reported failed (logged, returned) with nothing stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlmodel import col, select

from service.core.db import session_scope
from service.core.errors import InvalidInput, TransientError
from service.core.models import InboxEvent
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.ingest import inbox

log = logging.getLogger("frictionlog.pulls")


class PullFailed(TransientError):
    """A source kept failing (timeouts, 5xx, unreadable answers) after every try."""


@dataclass(slots=True)
class PullReport:
    source: str
    stored: int = 0
    already: int = 0
    failed: list[str] = field(default_factory=list)
    """One line per window that could not be pulled: what went wrong, after how many tries."""


def day_windows(now: datetime, days: int) -> list[tuple[datetime, datetime]]:
    """The last ``days`` whole UTC days before today (an unfinished day is never pulled)."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return [(today - timedelta(days=n), today - timedelta(days=n - 1)) for n in range(days, 0, -1)]


def get_json(
    client: httpx.Client,
    url: str,
    params: Mapping[str, str],
    *,
    attempts: int,
    backoff_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """GET → decoded JSON; retried on timeouts, transport errors and 5xx; PullFailed after the last try."""
    problem = ""
    for attempt in range(1, attempts + 1):
        try:
            response = client.get(url, params=params)
            if response.status_code < 500:
                response.raise_for_status()
                return response.json()
            problem = f"HTTP {response.status_code}"
        except httpx.TimeoutException:
            problem = "timed out"
        except httpx.TransportError as exc:
            problem = f"transport error: {exc.__class__.__name__}"
        except httpx.HTTPStatusError as exc:  # a 4xx will not get better by asking again
            raise PullFailed(f"{url}: HTTP {exc.response.status_code}") from None
        except ValueError:
            problem = "the answer is not JSON"
        log.warning("pull.retry url=%s attempt=%s problem=%s", url, attempt, problem)
        if attempt < attempts:
            sleep(backoff_seconds * 2 ** (attempt - 1))
    raise PullFailed(f"{url}: {problem} after {attempts} tries")


def known_keys(settings: Settings, source: str, keys: list[str]) -> set[str]:
    """Which of these delivery keys the inbox already holds (those windows are not fetched again)."""
    if not keys:
        return set()
    with session_scope(settings.database_url) as session:
        statement = select(InboxEvent.delivery_key).where(
            col(InboxEvent.source) == source, col(InboxEvent.delivery_key).in_(keys)
        )
        return set(session.exec(statement).all())


def store(settings: Settings, delivery: inbox.Delivery) -> bool:
    """Write one window's delivery; True when it is new."""
    with session_scope(settings.database_url, write=True) as session:
        return not inbox.accept(session, [delivery])[0].duplicate


def http_client(settings: Settings, base_url: str, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    timeout = httpx.Timeout(settings.pull_timeout_seconds)
    return httpx.Client(base_url=base_url, timeout=timeout, transport=transport, headers={"User-Agent": "frictionlog"})


def now() -> datetime:
    return utcnow()


Window = tuple[datetime, datetime]
Fetch = Callable[[httpx.Client, datetime, datetime], str]
"""One window's requests → the body of its delivery; raises PullFailed or InvalidInput (nothing stored)."""


def pull_windows(
    settings: Settings,
    *,
    source: str,
    event_type: str,
    base_url: str,
    keys: Mapping[str, Window],
    fetch: Fetch,
    transport: httpx.BaseTransport | None = None,
) -> PullReport:
    """The one pull loop: each window whose delivery key the inbox lacks is fetched whole and stored as one
    delivery; a window that fails is reported (logged, returned) and stored not at all."""
    report = PullReport(source)
    done = known_keys(settings, source, list(keys))
    report.already = len(done)
    with http_client(settings, base_url, transport) as client:
        for key, (start, end) in keys.items():
            if key in done:
                continue
            try:
                body = fetch(client, start, end)
            except (PullFailed, InvalidInput) as exc:
                report.failed.append(f"{start.date().isoformat()}: {exc.message}")
                log.error("pull.failed source=%s day=%s error=%s", source, start.date(), exc.message)
                continue
            report.stored += store(settings, inbox.Delivery(source, event_type, key, body, {}))
    return report


DayKey = Callable[[datetime, datetime], str]
"""A window's delivery key."""
Day = Callable[[Settings, float], tuple[DayKey, Fetch]]
"""A configured source's day: (Settings, backoff seconds between tries) → its delivery key and its fetch."""


@dataclass(frozen=True, slots=True)
class DailyPull:
    """A source pulled by whole past days: nothing while its URL is unset, else each day not pulled yet,
    through :func:`pull_windows`."""

    source: str
    event_type: str
    base_url: Callable[[Settings], str | None]
    day: Day

    def pull(
        self, settings: Settings, *, transport: httpx.BaseTransport | None = None, backoff_seconds: float = 1.0
    ) -> PullReport:
        base_url = self.base_url(settings)
        if not base_url:
            return PullReport(self.source)
        key, fetch = self.day(settings, backoff_seconds)
        return pull_windows(
            settings,
            source=self.source,
            event_type=self.event_type,
            base_url=base_url,
            keys={key(s, e): (s, e) for s, e in day_windows(now(), settings.pull_lookback_days)},
            fetch=fetch,
            transport=transport,
        )
