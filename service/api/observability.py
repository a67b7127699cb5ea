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
from sqlmodel import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import inbox
from service.db import session_scope
from service.models import InboxEvent
from service.timeutil import utcnow
from service.vocab import InboxStatus


class InboxCollector(Collector):
    def __init__(self, database_url: str) -> None:
        self._url = database_url

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("frictionlog_inbox_events", "Inbox rows by status", labels=["status"])
        lag = GaugeMetricFamily("frictionlog_processing_lag_seconds", "Age of the oldest pending inbox row")
        retrying = GaugeMetricFamily("frictionlog_inbox_retrying", "Pending rows that failed at least once")
        with session_scope(self._url) as session:
            for status, count in inbox.count_by_status(session).items():
                depth.add_metric([status], count)
            oldest = session.exec(
                select(func.min(InboxEvent.received_at)).where(InboxEvent.status == InboxStatus.PENDING)
            ).one()
            again = session.exec(
                select(func.count())
                .select_from(InboxEvent)
                .where(InboxEvent.status == InboxStatus.PENDING, InboxEvent.attempts > 0)
            ).one()
        lag.add_metric([], 0.0 if oldest is None else max(0.0, (utcnow() - oldest).total_seconds()))
        retrying.add_metric([], float(again))
        yield from (depth, lag, retrying)


class Metrics:
    def __init__(self, database_url: str) -> None:
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
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)
