"""Prometheus metrics at ``/metrics``: requests, inbox depth by status, processing lag, failures.

One registry per app (no process-global state). Inbox figures are read from the database at scrape
time, so every API replica reports the same truth about the shared inbox.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core.db import session_scope
from service.core.models import InboxEvent
from service.core.timeutil import utcnow
from service.core.vocab import InboxStatus
from service.ingest import inbox
from service.ingest.spool import Spool


class InboxCollector(Collector):
    def __init__(self, database_url: str) -> None:
        self._url = database_url

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("frictionlog_inbox_events", "Inbox rows by status", labels=["status"])
        lag = GaugeMetricFamily("frictionlog_processing_lag_seconds", "Age of the oldest pending inbox row")
        retrying = GaugeMetricFamily("frictionlog_inbox_retrying", "Pending rows that failed at least once")
        up = GaugeMetricFamily("frictionlog_database_up", "1 if the database answered this scrape")
        try:
            with session_scope(self._url) as session:
                counts = inbox.count_by_status(session)
                oldest = session.exec(
                    select(func.min(InboxEvent.received_at)).where(InboxEvent.status == InboxStatus.PENDING)
                ).one()
                again = session.exec(
                    select(func.count())
                    .select_from(InboxEvent)
                    .where(InboxEvent.status == InboxStatus.PENDING, InboxEvent.attempts > 0)
                ).one()
        except (OperationalError, InterfaceError):  # the spool figures matter most exactly then: still scrape
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        for status, count in counts.items():
            depth.add_metric([status], count)
        lag.add_metric([], 0.0 if oldest is None else max(0.0, (utcnow() - oldest).total_seconds()))
        retrying.add_metric([], float(again))
        yield from (up, depth, lag, retrying)


class SpoolCollector(Collector):
    def __init__(self, spool: Spool) -> None:
        self._spool = spool

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("frictionlog_spool_deliveries", "Deliveries waiting on the local spool")
        size = GaugeMetricFamily("frictionlog_spool_bytes", "Bytes of the local spool files")
        limit = GaugeMetricFamily("frictionlog_spool_max_bytes", "Spool size past which ingest answers 503")
        depth.add_metric([], float(self._spool.depth()))
        size.add_metric([], float(self._spool.size_bytes()))
        limit.add_metric([], float(self._spool.max_bytes or 0))
        yield from (depth, size, limit)


MAX_KEPT_SERIES = 1000


class Metrics:
    def __init__(self, database_url: str, spool: Spool | None = None) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "frictionlog_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "frictionlog_http_request_seconds",
            "HTTP request duration",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=self.registry,
        )
        self.registry.register(InboxCollector(database_url))
        if spool is not None:
            self.registry.register(SpoolCollector(spool))
        self._counted: dict[tuple[str, str, int], Counter] = {}
        self._timed: dict[str, Histogram] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """One request counted and timed. The labelled series are kept (``labels()`` takes a lock and checks
        its values on every call); at most ``MAX_KEPT_SERIES`` of them, since the method is the client's."""
        counter = self._counted.get((method, route, status))
        if counter is None:
            counter = self.requests.labels(method, route, str(status))
            if len(self._counted) < MAX_KEPT_SERIES:
                self._counted[(method, route, status)] = counter
        counter.inc()
        timer = self._timed.get(route)
        if timer is None:
            timer = self.latency.labels(route)
            if len(self._timed) < MAX_KEPT_SERIES:
                self._timed[route] = timer
        timer.observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times requests by route template (``/api/v1/friction/{report_id}``, not the raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - started)
