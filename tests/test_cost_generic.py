"""The generic form's cost and measurement events, and the utilisation figures they feed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.app.api.app import create_app
from service.core.db import get_engine, session_scope
from service.core.models.cost import CostLine, Measurement
from service.core.settings import Settings
from service.figures import rollups_db
from tests.factories import T0, iso, issue_token
from tests.fakes import RecordingWaker
from tests.helpers import make_settings
from workers.process import drain

HOUR = timedelta(hours=1)


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Any:
    settings = make_settings(database_url, tmp_path, currency_rates={"EUR": 1.1})
    with TestClient(create_app(settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        headers = {"Authorization": f"Bearer {issue_token(settings, 'ci', ['ingest', 'read'])}"}
        yield settings, client, headers


def measurement(
    id_: str, metric: str, value: float, *, hours: float = 1.0, start: Any = T0, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "measurement",
        "id": id_,
        "service": extra.pop("service", "ml-api"),
        "metric": metric,
        "value": value,
        "period_start": iso(start),
        "period_end": iso(start + hours * HOUR),
        **extra,
    }


def cost(id_: str, amount: float, **extra: Any) -> dict[str, Any]:
    return {
        "type": "cost",
        "id": id_,
        "service": extra.pop("service", "ml-api"),
        "period_start": iso(T0),
        "period_end": iso(T0 + 24 * HOUR),
        "amount": amount,
        "currency": extra.pop("currency", "USD"),
        **extra,
    }


def week_row(client: TestClient, headers: dict[str, str], group: str = "ml-api") -> dict[str, Any]:
    params = {"group_by": "service", "from": "2026-10-05", "to": "2026-10-12"}
    rows = client.get("/api/v1/metrics/weekly", params=params, headers=headers).json()["rows"]
    return next(row for row in rows if row["group"] == group)


def test_utilisation_figures_match_hand_computation(env: Any) -> None:
    settings, client, headers = env
    events = [
        cost("c1", 100.0, category="compute"),
        cost("c2", 50.0, category="gpu"),
        cost("c3", 30.0, service=None),  # unallocated
        measurement("g1", "gpu_hours_provisioned", 10.0, hours=5),
        measurement("g2", "gpu_hours_used", 3.0, hours=5),
        measurement("u1", "cpu_utilisation", 0.2, hours=1),
        measurement("u2", "cpu_utilisation", 0.5, hours=3, start=T0 + 2 * HOUR),
        *[
            {
                "type": "measurement",
                "id": f"cs{n}",
                "service": "ml-api",
                "metric": "cold_start_seconds",
                "value": float(n),
                "at": iso(T0 + n * HOUR),
            }
            for n in range(1, 21)
        ],
        measurement("x1", "queue_depth_p99", 42.0, unit="messages"),  # unknown metric: kept
    ]
    answer = client.post("/webhooks/generic", json=events, headers=headers)
    assert answer.status_code == 202, answer.text
    drain(settings)
    row = week_row(client, headers)
    assert row["compute_cost"] == pytest.approx(150.0)
    assert row["gpu_hours_provisioned"] == pytest.approx(10.0)
    assert row["gpu_utilisation"] == pytest.approx(0.3)
    assert row["idle_gpu_cost"] == pytest.approx(50.0 * 0.7)
    assert row["cpu_utilisation"] == pytest.approx((0.2 * 1 + 0.5 * 3) / 4)
    # p95 of 1..20 by linear interpolation: rank 0.95 × 19 = 18.05 → 19 + 0.05 × (20 − 19)
    assert row["cold_start_p95_seconds"] == pytest.approx(19.05)
    assert row["cold_start_n"] == 20
    assert week_row(client, headers, "unallocated")["compute_cost"] == pytest.approx(30.0)
    with Session(get_engine(settings.database_url)) as session:
        kept = session.exec(select(Measurement).where(Measurement.metric == "queue_depth_p99")).one()
    assert (kept.value, kept.unit, kept.service) == (42.0, "messages", "ml-api")


def test_gpu_ratio_alone_is_weighted_by_its_hours(env: Any) -> None:
    settings, client, headers = env
    events = [
        measurement("r1", "gpu_utilisation", 0.2, hours=1),
        measurement("r2", "gpu_utilisation", 0.6, hours=3, start=T0 + 5 * HOUR),
        measurement("o1", "gpu_utilisation", 0.9, hours=1, service="other"),
    ]
    assert client.post("/webhooks/generic", json=events, headers=headers).status_code == 202
    drain(settings)
    assert week_row(client, headers)["gpu_utilisation"] == pytest.approx((0.2 + 1.8) / 4)
    params = {"group_by": "platform", "from": "2026-10-05", "to": "2026-10-12"}
    rows = client.get("/api/v1/metrics/weekly", params=params, headers=headers).json()["rows"]
    assert rows[0]["gpu_utilisation"] == pytest.approx((0.2 + 1.8 + 0.9) / 5)  # hours-weighted, not a mean of means


def test_a_resent_or_updated_cost_event_is_one_line(env: Any) -> None:
    settings, client, headers = env
    assert client.post("/webhooks/generic", json=cost("c1", 10.0), headers=headers).status_code == 202
    assert client.post("/webhooks/generic", json=cost("c1", 10.0), headers=headers).status_code == 200
    assert client.post("/webhooks/generic", json=cost("c1", 12.5), headers=headers).status_code == 202
    drain(settings)
    with Session(get_engine(settings.database_url)) as session:
        assert [line.amount for line in session.exec(select(CostLine))] == [12.5]


def test_euros_are_converted_and_an_unknown_currency_is_refused(env: Any) -> None:
    settings, client, headers = env
    assert client.post("/webhooks/generic", json=cost("e1", 100.0, currency="eur"), headers=headers).status_code == 202
    refused = client.post("/webhooks/generic", json=cost("g1", 100.0, currency="GBP"), headers=headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "currency"
    assert "GBP" in refused.json()["error"]["message"]
    drain(settings)
    assert week_row(client, headers)["compute_cost"] == pytest.approx(110.0)


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (
            {
                "type": "cost",
                "id": "x",
                "service": "a",
                "period_start": "2026-10-05T00:00:00Z",
                "period_end": "2026-10-04T00:00:00Z",
                "amount": 1,
                "currency": "USD",
            },
            "period_end",
        ),
        (
            {
                "type": "cost",
                "id": "x",
                "service": "a",
                "period_start": "2026-10-05T00:00:00Z",
                "period_end": "2026-10-06T00:00:00Z",
                "amount": "lots",
                "currency": "USD",
            },
            "amount",
        ),
        (
            {
                "type": "cost",
                "id": "x",
                "period_start": "2026-10-05T00:00:00Z",
                "period_end": "2026-10-06T00:00:00Z",
                "amount": 1,
                "currency": "USD",
            },
            "service",
        ),
        ({"type": "measurement", "id": "m", "service": "a", "metric": "gpu_utilisation", "value": 0.5}, "at"),
        (
            {
                "type": "measurement",
                "id": "m",
                "service": "a",
                "metric": "",
                "value": 0.5,
                "at": "2026-10-05T00:00:00Z",
            },
            "metric",
        ),
    ],
)
def test_bad_cost_and_measurement_events_are_422_naming_the_field(env: Any, event: dict[str, Any], field: str) -> None:
    _, client, headers = env
    answer = client.post("/webhooks/generic", json=event, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field


@pytest.mark.parametrize(
    ("metric", "value", "accepted"),
    [
        ("gpu_utilisation", 5.0, False),  # 500 %: a ratio is 0–1
        ("gpu_utilisation", -0.1, False),
        ("gpu_utilisation", 1.0, True),
        ("gpu_hours_used", -2.0, False),
        ("cold_start_seconds", -1.0, False),
        ("cpu_utilisation", 1.4, True),  # usage above a Kubernetes request is real
        ("queue_depth_p99", -5.0, True),  # a name the figures do not read is kept as sent
    ],
)
def test_a_measurement_outside_its_unit_is_422_naming_the_value(
    env: Any, metric: str, value: float, accepted: bool
) -> None:
    _, client, headers = env
    event = measurement("m-range", metric, value)
    answer = client.post("/webhooks/generic", json=event, headers=headers)
    if accepted:
        assert answer.status_code == 202, answer.text
        return
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == "value"
    assert metric in answer.json()["error"]["message"]


def test_settings_for_a_reporting_currency_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reporting_currency"):
        make_settings("sqlite://", tmp_path, reporting_currency="dollars")
    assert isinstance(make_settings("sqlite://", tmp_path), Settings)


def test_rollups_follow_a_corrected_event_to_its_new_week_and_service(env: Any) -> None:
    settings, client, headers = env
    with session_scope(settings.database_url, write=True) as session:
        rollups_db.rebuild(session, settings)  # from here on, figures are read from stored rollups
    assert client.post("/webhooks/generic", json=cost("c1", 10.0), headers=headers).status_code == 202
    drain(settings)
    refresh(settings)
    assert week_row(client, headers)["compute_cost"] == 10.0
    moved = {
        **cost("c1", 4.0, service=None),
        "period_start": iso(T0 + 7 * 24 * HOUR),
        "period_end": iso(T0 + 8 * 24 * HOUR),
    }
    assert client.post("/webhooks/generic", json=moved, headers=headers).status_code == 202
    drain(settings)
    refresh(settings)
    params = {"group_by": "service", "from": "2026-10-05", "to": "2026-10-19"}
    rows = client.get("/api/v1/metrics/weekly", params=params, headers=headers).json()["rows"]
    assert [(r["week"], r["group"], r["compute_cost"]) for r in rows if r["compute_cost"] is not None] == [
        ("2026-W42", "unallocated", 4.0)  # the old week and service no longer hold it
    ]


def refresh(settings: Settings) -> None:
    with session_scope(settings.database_url, write=True) as session:
        while rollups_db.refresh(session, settings):
            pass


def test_any_metric_is_charted_weekly_and_csv_cells_are_defused(env: Any) -> None:
    settings, client, headers = env
    events = [
        measurement("q1", "queue_depth_p99", 40.0, hours=1, unit="messages"),
        measurement("q2", "queue_depth_p99", 10.0, hours=3, start=T0 + 2 * HOUR, unit="messages"),
        measurement("h1", '=HYPERLINK("http://x")', 1.0, unit="@evil"),
        cost("c1", 5.0, platform="=cmd|'/c calc'!A1"),
    ]
    # A formula is no service name: the one service rule refuses it at the edge, naming the field.
    refused = client.post("/webhooks/generic", json=cost("c0", 5.0, service="=cmd|'/c calc'!A1"), headers=headers)
    assert (refused.status_code, refused.json()["error"]["field"]) == (422, "service")
    assert client.post("/webhooks/generic", json=events, headers=headers).status_code == 202
    drain(settings)
    params = {"metric": "queue_depth_p99", "from": "2026-10-05", "to": "2026-10-12"}
    rows = client.get("/api/v1/metrics/measurements", params=params, headers=headers).json()["rows"]
    assert rows == [
        {
            "week": "2026-W41",
            "group": "ml-api",
            "metric": "queue_depth_p99",
            "unit": "messages",
            "mean": pytest.approx((40 + 30) / 4),
            "sum": 50.0,
            "min": 10.0,
            "max": 40.0,
            "n": 2,
        }
    ]
    text = client.get(
        "/api/v1/metrics/measurements", params={**params, "metric": None, "format": "csv"}, headers=headers
    ).text
    assert "'@evil" in text
    assert "'=HYPERLINK" in text
    weekly_csv = client.get(
        "/api/v1/metrics/weekly",
        params={"group_by": "platform", "from": "2026-10-05", "to": "2026-10-12", "format": "csv"},
        headers=headers,
    ).text
    assert ",'=cmd|" in weekly_csv
    assert ",=cmd" not in weekly_csv
