"""OpenCost: the ``/allocation`` API, aggregated by a Kubernetes label, pulled one whole day at a time.

Request: ``GET /allocation?window=<start>,<end>&aggregate=label:<label>&step=1d&accumulate=false&includeIdle=true``.
Answer (OpenCost's documented shape): ``{"code": 200, "data": [{"<name>": {allocation}, ...}, ...]}``, one
set per step; an allocation has ``window {start, end}``, ``minutes``, ``cpuCoreRequestAverage``,
``cpuCoreUsageAverage``, ``cpuCoreHours``, ``gpuCount``, ``gpuHours``, ``gpuCost``, ``totalCost`` and more.
``__idle__`` (capacity nobody requested) and ``__unallocated__`` (workloads without the label) are spend
with no service: unallocated.

Records per allocation: cost lines ``gpu`` (gpuCost) and ``compute`` (totalCost − gpuCost) so the two add
up to the total; measurements ``gpu_hours_provisioned`` (gpuHours), ``gpu_hours_used`` (GPU usage average ×
hours, when OpenCost reports it), ``cpu_utilisation`` (usage ÷ request average) and ``cpu_core_hours``.
OpenCost reports in its own configured currency (``currencyCode``); FRICTIONLOG_REPORTING_CURRENCY is taken to
be it, and stored with each pulled window.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import datetime
from functools import partial
from typing import Any

import httpx

from integrations.config import IntegrationConfig
from integrations.pulls import DailyPull, DayKey, Fetch, get_json
from service.core.errors import InvalidInput
from service.core.identity import slug_or_none
from service.core.records import CostRecord, InboxMeta, MeasurementRecord, ParseResult, Record
from service.core.settings import Settings
from service.core.timeutil import parse_timestamp

SOURCE = "opencost"
EVENT_TYPE = "allocation"
NO_SERVICE = {"__idle__": "idle", "__unallocated__": "unallocated", "__unmounted__": "unmounted"}
log = logging.getLogger("frictionlog.pulls.opencost")


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def delivery_key(label: str, start: datetime, end: datetime) -> str:
    return f"{EVENT_TYPE}:label:{label}:{_rfc3339(start)},{_rfc3339(end)}"


def _day(settings: Settings, backoff_seconds: float) -> tuple[DayKey, Fetch]:
    """A day is the allocations by the configured label; each becomes one inbox delivery."""
    label = settings.opencost_label

    def fetch(client: httpx.Client, start: datetime, end: datetime) -> str:
        params = {
            "window": f"{_rfc3339(start)},{_rfc3339(end)}",
            "aggregate": f"label:{label}",
            "step": "1d",
            "accumulate": "false",
            "includeIdle": "true",
        }
        answer = get_json(
            client, "/allocation", params, attempts=settings.pull_attempts, backoff_seconds=backoff_seconds
        )
        _check(answer)
        window = {"start": _rfc3339(start), "end": _rfc3339(end)}
        # The currency OpenCost reports in is taken to be the reporting one (OpenCost's currencyCode).
        return json.dumps(
            {"window": window, "label": label, "currency": settings.reporting_currency, "response": answer}
        )

    return partial(delivery_key, label), fetch


pull = DailyPull(SOURCE, EVENT_TYPE, lambda settings: settings.opencost_url, _day).pull
"""Pull the configured whole days not pulled yet (nothing while FRICTIONLOG_OPENCOST_URL is unset)."""


def _check(answer: Any) -> None:
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
        raise InvalidInput("OpenCost's answer has no data list", field="data")
    if answer.get("code", 200) != 200:
        raise InvalidInput(f"OpenCost answered code {answer.get('code')}: {answer.get('message', '')}", field="code")


def _number(allocation: dict[str, Any], name: str) -> float | None:
    value = allocation.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _allocation_records(
    name: str, allocation: dict[str, Any], currency: str, config: IntegrationConfig
) -> list[Record]:
    start, end = _window(allocation)
    # The label's value through the aliases and the catalogue's slug rule; a value that is no service name
    # (or OpenCost's idle/unallocated buckets) is unallocated spend.
    service = None if name in NO_SERVICE else slug_or_none(config.service_aliases.get(name, name))
    base = f"{_rfc3339(start)},{_rfc3339(end)}|{name}"
    records: list[Record] = [
        CostRecord(
            source=SOURCE,
            external_id=f"{base}|{category}",
            service=service,
            period_start=start,
            period_end=end,
            amount=amount,
            currency=currency,
            category=NO_SERVICE.get(name, category),
        )
        for category, amount in _cost_lines(allocation)
    ]
    if service is None:
        return records
    records += [
        MeasurementRecord(
            source=SOURCE,
            external_id=f"{base}|{metric}",
            service=service,
            metric=metric,
            value=value,
            period_start=start,
            period_end=end,
        )
        for metric, value in _measurements(allocation, start, end)
    ]
    return records


def _window(allocation: dict[str, Any]) -> tuple[datetime, datetime]:
    """The allocation's window: its ``window`` object, else its own ``start`` and ``end``."""
    window = allocation.get("window") or {}
    start = parse_timestamp(window.get("start") or allocation.get("start"), field="window.start")
    end = parse_timestamp(window.get("end") or allocation.get("end"), field="window.end")
    return start, end


def _cost_lines(allocation: dict[str, Any]) -> list[tuple[str, float]]:
    """(category, amount): compute (total − GPU) always, GPU when there is any, so the two add up to the total."""
    total = _number(allocation, "totalCost") or 0.0
    gpu_cost = _number(allocation, "gpuCost") or 0.0
    lines = [("compute", total - gpu_cost), ("gpu", gpu_cost)]
    return [(category, amount) for category, amount in lines if amount or category == "compute"]


def _gpu_usage(allocation: dict[str, Any]) -> float | None:
    """The GPU usage average, top-level or (older OpenCost) under ``gpuAllocation``; None when not reported."""
    usage = _number(allocation, "gpuUsageAverage")
    if usage is None and isinstance(allocation.get("gpuAllocation"), dict):
        usage = _number(allocation["gpuAllocation"], "gpuUsageAverage")
    return usage


def _measurements(allocation: dict[str, Any], start: datetime, end: datetime) -> list[tuple[str, float]]:
    """(metric, value) of a service's allocation. GPU hours provisioned are left out when 0 and OpenCost
    reports no GPU usage (no GPU at all), used GPU hours when it reports no usage, utilisation without a
    request."""
    minutes = _number(allocation, "minutes")
    hours = minutes / 60 if minutes is not None else (end - start).total_seconds() / 3600
    values: dict[str, float | None] = {
        "gpu_hours_provisioned": _number(allocation, "gpuHours"),
        "cpu_core_hours": _number(allocation, "cpuCoreHours"),
    }
    usage = _gpu_usage(allocation)
    if usage is not None:
        values["gpu_hours_used"] = usage * hours
    request = _number(allocation, "cpuCoreRequestAverage")
    used = _number(allocation, "cpuCoreUsageAverage")
    if request and used is not None:
        values["cpu_utilisation"] = used / request
    return [
        (metric, value)
        for metric, value in values.items()
        if value is not None and (metric != "gpu_hours_provisioned" or value > 0 or usage is not None)
    ]


def parse(meta: InboxMeta, body: Any, config: IntegrationConfig) -> ParseResult:
    """Records of one pulled day (the stored answer); InvalidInput names what is missing."""
    if not isinstance(body, dict) or not isinstance(body.get("response"), dict):
        raise InvalidInput("a pulled OpenCost window needs its response", field="response")
    _check(body["response"])
    currency = str(body.get("currency") or "USD").upper()
    records: list[Record] = []
    for index, allocation_set in enumerate(body["response"]["data"]):
        if allocation_set is None:
            continue
        if not isinstance(allocation_set, dict):
            raise InvalidInput(f"data.{index} is not an allocation set", field=f"data.{index}")
        for name, allocation in allocation_set.items():
            if not isinstance(allocation, dict):
                raise InvalidInput(f"data.{index}.{name} is not an allocation", field=f"data.{index}.{name}")
            records.extend(_allocation_records(str(name)[:128], allocation, currency, config))
    return records
