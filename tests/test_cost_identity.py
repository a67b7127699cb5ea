"""Bills, OpenCost labels and Prometheus labels name services by the one rule (service.core.identity): a
look-alike spelling is the same service, and a value that is no service name is unallocated, never a
second service."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from integrations import opencost, prometheus
from integrations.config import IntegrationConfig
from service.core.records import CostRecord, InboxMeta, MeasurementRecord
from service.ingest.cost_import import read_file
from tests.factories import T0
from tests.focus_files import Charge, write_csv
from tests.helpers import make_settings, records_of
from tests.pull_standins import allocation_answer, query_range_answer

LOOK_ALIKES = ("ML-API", "ml‐api", "ｍｌ-api", " ml-api\u200b")  # upper case, a Unicode hyphen, fullwidth, invisible
META = InboxMeta(id=1, event_type="x", delivery_key="k", received_at=datetime(2026, 11, 2, tzinfo=UTC))


def test_focus_tags_in_look_alike_spellings_are_one_service_and_a_non_name_is_unallocated(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    charges = [Charge(T0, 1.0, tags={"service": name}) for name in LOOK_ALIKES]
    charges.append(Charge(T0, 2.0, tags={"service": "<not a service!>"}))
    summary = read_file(settings, write_csv(tmp_path / "bill.csv", charges))

    by_service: dict[str | None, float] = {}
    for key, amount in summary.lines.items():
        by_service[key[2]] = by_service.get(key[2], 0.0) + amount
    assert by_service == {"ml-api": 4.0, None: 2.0}


def _opencost_body(names: tuple[str, ...]) -> dict[str, Any]:
    answer = allocation_answer({"window": "2026-11-01T00:00:00Z,2026-11-02T00:00:00Z", "aggregate": "label:app"})
    template = answer["data"][0]["ml-api"]
    answer["data"] = [{name: {**template, "name": name} for name in names}]
    return {"window": {}, "label": "app", "currency": "USD", "response": answer}


def test_opencost_labels_follow_the_service_rule() -> None:
    records = records_of(opencost.parse(META, _opencost_body((*LOOK_ALIKES, "<not a service!>")), IntegrationConfig()))
    costs = [r for r in records if isinstance(r, CostRecord)]
    assert {r.service for r in costs} == {"ml-api", None}


def test_prometheus_labels_follow_the_service_rule() -> None:
    start, end = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()), int(datetime(2026, 11, 2, tzinfo=UTC).timestamp())
    params = {"query": "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "start": str(start + 3600), "end": str(end), "step": "3600s"}
    data = query_range_answer(params)["data"]
    template = data["result"][0]
    data["result"] = [{**template, "metric": {"label_app": name}} for name in (*LOOK_ALIKES, "<not a service!>")]
    body = {
        "window": {
            "start": datetime.fromtimestamp(start, UTC).isoformat(),
            "end": datetime.fromtimestamp(end, UTC).isoformat(),
        },
        "step": 3600,
        "service_label": "label_app",
        "results": {"gpu_utilisation": {"unit": "ratio", "per_hour": False, "data": data}},
    }
    records = records_of(prometheus.parse(META, body, IntegrationConfig()))
    assert {r.service for r in records if isinstance(r, MeasurementRecord)} == {"ml-api"}
