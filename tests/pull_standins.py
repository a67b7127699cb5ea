"""Local HTTP stand-ins for OpenCost's /allocation and Prometheus's /api/v1/query_range, serving the
response shapes their documentation gives, computed from the request's own window and step.

``trouble`` decides, per request, whether to misbehave: ``"500"`` answers a 5xx, ``"slow"`` sleeps past the
client's timeout before answering; None answers normally. Every request is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from tests.standin import JsonHandler, serving

Trouble = Callable[[str, dict[str, str]], str | None]

ML_API = {  # one day of ml-api on a GPU node, as OpenCost reports an allocation
    "minutes": 1440.0,
    "cpuCores": 2.0,
    "cpuCoreRequestAverage": 2.0,
    "cpuCoreUsageAverage": 0.5,
    "cpuCoreHours": 48.0,
    "cpuCost": 4.0,
    "gpuCount": 1.0,
    "gpuHours": 24.0,
    "gpuCost": 48.0,
    "gpuAllocation": {"gpuDevice": "nvidia0", "gpuModel": "A100", "isGPUShared": False, "gpuUsageAverage": 0.25},
    "ramCost": 6.0,
    "pvCost": 1.0,
    "networkCost": 1.0,
    "totalCost": 60.0,
}
IDLE = {"minutes": 1440.0, "cpuCost": 6.0, "ramCost": 4.0, "totalCost": 10.0}
PROM_VALUES = {"DCGM": "0.5", "nvidia_com_gpu": "1", "container_cpu_usage": "0.4", "histogram_quantile": "12"}
"""Which value every point of a default query's series has (matched on a word of the query)."""


def allocation_answer(params: dict[str, str]) -> dict[str, Any]:
    start, end = params["window"].split(",")
    label = params["aggregate"].removeprefix("label:")
    assert label == "app"
    window = {"start": start, "end": end}

    def allocation(name: str, fields: dict[str, Any]) -> dict[str, Any]:
        labels = {} if name.startswith("__") else {"app": name}
        return {
            "name": name,
            "properties": {"cluster": "default-cluster", "labels": labels},
            "window": window,
            "start": start,
            "end": end,
            **fields,
        }

    return {
        "code": 200,
        "status": "success",
        "data": [{"ml-api": allocation("ml-api", ML_API), "__idle__": allocation("__idle__", IDLE)}],
    }


def query_range_answer(params: dict[str, str]) -> dict[str, Any]:
    step = int(params["step"].removesuffix("s"))
    start, end = int(params["start"]), int(params["end"])
    value = next(v for word, v in PROM_VALUES.items() if word in params["query"])
    points = [[t, value] for t in range(start, end + 1, step)]
    if value == "12":
        points[3][1] = "NaN"  # histogram_quantile of an empty range: skipped, not stored
        points[5][1] = "-3"  # a negative cold start (a recording rule's bug): outside its unit, skipped
    series = [{"metric": {"label_app": "ml-api"}, "values": points}, {"metric": {}, "values": points[:1]}]
    return {"status": "success", "data": {"resultType": "matrix", "result": series}}


class StandIn:
    def __init__(self, trouble: Trouble | None = None, *, slow_seconds: float = 1.0) -> None:
        self.trouble = trouble or (lambda _path, _params: None)
        self.slow_seconds = slow_seconds
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.url = ""


def _handler(stand_in: StandIn) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:
            path, params = self.path_and_query()
            stand_in.requests.append((path, params))
            trouble = stand_in.trouble(path, params)
            if trouble == "500":
                return self.reply(503, {"error": "upstream unavailable"})
            if trouble == "slow":
                time.sleep(stand_in.slow_seconds)
            if path == "/allocation":
                return self.reply(200, allocation_answer(params))
            if path == "/api/v1/query_range":
                return self.reply(200, query_range_answer(params))
            return self.reply(404, {"error": "not found"})

    return Handler


@contextmanager
def serve(stand_in: StandIn) -> Iterator[StandIn]:
    with serving(_handler(stand_in)) as url:
        stand_in.url = url
        yield stand_in


def day(moment: str) -> datetime:
    return datetime.fromisoformat(moment).replace(tzinfo=UTC)
