"""Prometheus: named PromQL queries (a YAML file) through ``/api/v1/query_range``, one whole day at a time.

Answer (Prometheus's documented shape): ``{"status": "success", "data": {"resultType": "matrix",
"result": [{"metric": {labels}, "values": [[<unix seconds>, "<value>"], ...]}]}}``. Each point becomes a
measurement of the series' service over [t − step, t); ``per_hour`` queries store value × step hours.
All queries of a day must succeed before the day is stored: a day is never half-written.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import yaml

from integrations.config import IntegrationConfig
from integrations.pulls import DailyPull, DayKey, Fetch, get_json
from service.core.errors import InvalidInput
from service.core.identity import slug_or_none
from service.core.records import InboxMeta, MeasurementRecord, ParseResult, Record
from service.core.settings import Settings
from service.core.vocab import measurement_problem

SOURCE = "prometheus"
EVENT_TYPE = "query_range"
DEFAULT_QUERIES = Path(__file__).resolve().parent.parent / "service" / "figures" / "cost" / "prometheus_queries.yaml"
log = logging.getLogger("frictionlog.pulls.prometheus")


@dataclass(frozen=True, slots=True)
class Query:
    metric: str
    query: str
    unit: str | None = None
    per_hour: bool = False


@dataclass(frozen=True, slots=True)
class QueryFile:
    service_label: str
    queries: tuple[Query, ...]


def load_queries(path: Path | None) -> QueryFile:
    """The queries file (the shipped defaults when None); InvalidInput naming what is wrong in it."""
    source = path or DEFAULT_QUERIES
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"cannot read the Prometheus queries file {source}: {exc}", field="queries") from None
    if not isinstance(data, dict) or not isinstance(data.get("queries"), list) or not data["queries"]:
        raise InvalidInput(f"{source}: needs a non-empty `queries` list", field="queries")
    queries = []
    for index, item in enumerate(data["queries"]):
        if not isinstance(item, dict) or not item.get("metric") or not item.get("query"):
            raise InvalidInput(f"{source}: queries.{index} needs `metric` and `query`", field=f"queries.{index}")
        queries.append(
            Query(
                metric=str(item["metric"])[:128],
                query=str(item["query"]),
                unit=str(item["unit"])[:32] if item.get("unit") else None,
                per_hour=bool(item.get("per_hour", False)),
            )
        )
    return QueryFile(service_label=str(data.get("service_label") or "service"), queries=tuple(queries))


def delivery_key(start: datetime, end: datetime, step: int) -> str:
    return f"{EVENT_TYPE}:{int(start.timestamp())}-{int(end.timestamp())}:{step}"


def _day(settings: Settings, backoff_seconds: float) -> tuple[DayKey, Fetch]:
    """A day is every configured query's points in it; each day becomes one delivery."""
    config = load_queries(settings.prometheus_queries_path)
    step = settings.prometheus_step_seconds

    def fetch(client: httpx.Client, start: datetime, end: datetime) -> str:
        results: dict[str, Any] = {}
        for query in config.queries:
            # A point at t covers the step before it ([t − step, t): avg_over_time, rate), so the day's
            # points run from its start + step to its end, and days never share a point.
            params = {
                "query": query.query.replace("$step", f"{step}s"),
                "start": str(int(start.timestamp()) + step),
                "end": str(int(end.timestamp())),
                "step": f"{step}s",
            }
            answer = get_json(
                client, "/api/v1/query_range", params, attempts=settings.pull_attempts, backoff_seconds=backoff_seconds
            )
            _check(answer, query.metric)
            results[query.metric] = {"unit": query.unit, "per_hour": query.per_hour, "data": answer["data"]}
        window = {"start": start.isoformat(), "end": end.isoformat()}
        return json.dumps({"window": window, "step": step, "service_label": config.service_label, "results": results})

    return partial(delivery_key, step=step), fetch


pull = DailyPull(SOURCE, EVENT_TYPE, lambda settings: settings.prometheus_url, _day).pull
"""Run every configured query for each whole day not pulled yet (nothing while FRICTIONLOG_PROMETHEUS_URL is
unset)."""


def _check(answer: Any, metric: str) -> None:
    if not isinstance(answer, dict) or answer.get("status") != "success":
        error = answer.get("error", "") if isinstance(answer, dict) else ""
        raise InvalidInput(f"query {metric}: Prometheus did not answer success {error}".strip(), field=metric)
    data = answer.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "matrix" or not isinstance(data.get("result"), list):
        raise InvalidInput(f"query {metric}: expected a matrix result", field=metric)


def parse(meta: InboxMeta, body: Any, config: IntegrationConfig) -> ParseResult:
    """Measurements of one pulled day (the stored answers); NaN and infinite points are skipped."""
    if not isinstance(body, dict) or not isinstance(body.get("results"), dict):
        raise InvalidInput("a pulled Prometheus day needs its results", field="results")
    step = int(body.get("step") or 3600)
    label = str(body.get("service_label") or "service")
    records: list[Record] = []
    for metric, result in body["results"].items():
        _check({"status": "success", "data": result.get("data")}, metric)
        factor = step / 3600 if result.get("per_hour") else 1.0
        for series in result["data"]["result"]:
            service = (series.get("metric") or {}).get(label)
            if not service:
                continue  # a series that names no service cannot be attributed
            service = slug_or_none(config.service_aliases.get(service, service))
            if service is None:
                continue  # a label value that is no service name cannot be attributed either
            for point in series.get("values") or []:
                try:
                    moment, raw = float(point[0]), float(point[1])
                except (TypeError, ValueError, IndexError):
                    raise InvalidInput(
                        f"query {metric}: a point is not [time, value]: {point!r}", field=metric
                    ) from None
                if not math.isfinite(raw):
                    continue
                value = raw * factor
                if problem := measurement_problem(str(metric), value):
                    log.warning("prometheus.skipped query=%s service=%s problem=%s", metric, service, problem)
                    continue
                end = datetime.fromtimestamp(moment, UTC)
                records.append(
                    MeasurementRecord(
                        source=SOURCE,
                        external_id=f"{metric}|{service}|{int(moment)}|{step}",
                        service=service,
                        metric=str(metric)[:128],
                        value=value,
                        period_start=end - timedelta(seconds=step),
                        period_end=end,
                        unit=result.get("unit"),
                    )
                )
    return records
