"""OpenCost and Prometheus pulls end to end: the real httpx client against local stand-ins, into the
inbox, through the workers, into cost lines and measurements; timeouts and 5xx retried, then reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, func, select

from integrations import opencost, prometheus
from integrations.pulls import day_windows
from service.core.db import get_engine
from service.core.models import InboxEvent
from service.core.models.cost import CostLine, Measurement
from service.core.settings import Settings
from service.core.timeutil import utcnow
from tests.helpers import make_settings
from tests.pull_standins import StandIn, serve
from workers.process import drain


def pull_settings(database_url: str, tmp_path: Path, stand_in: StandIn, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "opencost_url": stand_in.url,
        "prometheus_url": stand_in.url,
        "pull_lookback_days": 2,
        "pull_timeout_seconds": 0.3,
        "pull_attempts": 3,
        **extra,
    }
    return make_settings(database_url, tmp_path, **values)


def count(settings: Settings, model: Any) -> int:
    with Session(get_engine(settings.database_url)) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def rows(settings: Settings, model: Any) -> list[Any]:
    with Session(get_engine(settings.database_url)) as session:
        return list(session.exec(select(model)))


def test_opencost_pull_end_to_end_and_idempotent_per_window(database_url: str, tmp_path: Path) -> None:
    with serve(StandIn()) as stand_in:
        settings = pull_settings(database_url, tmp_path, stand_in)
        report = opencost.pull(settings, backoff_seconds=0)
        assert (report.stored, report.failed) == (2, [])
        windows = day_windows(utcnow(), 2)
        asked = [params["window"] for path, params in stand_in.requests if path == "/allocation"]
        assert asked == [f"{s:%Y-%m-%dT%H:%M:%SZ},{e:%Y-%m-%dT%H:%M:%SZ}" for s, e in windows]
        assert {params["aggregate"] for _, params in stand_in.requests} == {"label:app"}
        again = opencost.pull(settings, backoff_seconds=0)
        assert (again.stored, again.already) == (0, 2)
        assert len(stand_in.requests) == 2  # a window already pulled is not asked for again
    drain(settings)
    lines = sorted(((c.service or ""), c.category, c.amount, c.currency) for c in rows(settings, CostLine))
    assert lines == sorted(
        2 * [("ml-api", "compute", 12.0, "USD"), ("ml-api", "gpu", 48.0, "USD"), ("", "idle", 10.0, "USD")]
    )
    measured = {(m.metric, m.period_start): m.value for m in rows(settings, Measurement)}
    start = windows[0][0]
    assert measured[("gpu_hours_provisioned", start)] == 24.0
    assert measured[("gpu_hours_used", start)] == pytest.approx(0.25 * 24)
    assert measured[("cpu_utilisation", start)] == pytest.approx(0.5 / 2.0)
    assert measured[("cpu_core_hours", start)] == 48.0  # not a weekly figure, kept all the same


def test_opencost_retries_a_5xx_and_a_timeout(database_url: str, tmp_path: Path) -> None:
    plan = ["500", "slow"]
    with serve(StandIn(lambda _p, _q: plan.pop(0) if plan else None)) as stand_in:
        settings = pull_settings(database_url, tmp_path, stand_in)
        report = opencost.pull(settings, backoff_seconds=0)
        assert (report.stored, report.failed) == (2, [])
        assert len(stand_in.requests) == 4  # day one: 503, timeout, answer; day two: answer


@pytest.mark.parametrize("trouble", ["500", "slow"])
def test_opencost_that_keeps_failing_is_reported_and_nothing_is_written(
    database_url: str, tmp_path: Path, trouble: str
) -> None:
    with serve(StandIn(lambda _p, _q: trouble, slow_seconds=0.6)) as stand_in:
        settings = pull_settings(database_url, tmp_path, stand_in, pull_attempts=2)
        report = opencost.pull(settings, backoff_seconds=0)
        assert report.stored == 0
        assert len(report.failed) == 2
        problem = "HTTP 503" if trouble == "500" else "timed out"
        assert all(f"{problem} after 2 tries" in line for line in report.failed)
        assert len(stand_in.requests) == 4
    assert count(settings, InboxEvent) == 0


def test_prometheus_pull_end_to_end(database_url: str, tmp_path: Path) -> None:
    with serve(StandIn()) as stand_in:
        settings = pull_settings(database_url, tmp_path, stand_in)
        report = prometheus.pull(settings, backoff_seconds=0)
        assert (report.stored, report.failed) == (2, [])
        queries = [params for path, params in stand_in.requests if path == "/api/v1/query_range"]
        assert len(queries) == 2 * 4  # four shipped queries, two days
        assert all("$step" not in q["query"] and q["step"] == "3600s" for q in queries)
        assert any(
            "DCGM_FI_DEV_GPU_UTIL" in q["query"] and "DCGM_FI_PROF_GR_ENGINE_ACTIVE" in q["query"] for q in queries
        )
        assert prometheus.pull(settings, backoff_seconds=0).stored == 0
    drain(settings)
    measured = rows(settings, Measurement)
    assert {m.service for m in measured} == {"ml-api"}  # the series without the label is not attributed
    by_metric: dict[str, list[float]] = {}
    for m in measured:
        by_metric.setdefault(m.metric, []).append(m.value)
    assert len(by_metric["gpu_hours_used"]) == 48  # 24 hourly points a day
    assert sum(by_metric["gpu_hours_used"]) == pytest.approx(48 * 0.5)  # GPUs busy × 1 h
    assert sum(by_metric["gpu_hours_provisioned"]) == pytest.approx(48.0)
    assert set(by_metric["cpu_utilisation"]) == {0.4}
    assert len(by_metric["cold_start_seconds"]) == 44  # a NaN and a negative point each day are skipped
    assert min(by_metric["cold_start_seconds"]) >= 0
    windows = day_windows(utcnow(), 2)
    assert min(m.period_start for m in measured) == windows[0][0]
    assert max(m.period_end for m in measured) == windows[-1][1]


@pytest.mark.parametrize(("trouble", "problem"), [("500", "HTTP 503"), ("slow", "timed out")])
def test_prometheus_day_is_never_half_written(database_url: str, tmp_path: Path, trouble: str, problem: str) -> None:
    def misbehave(_path: str, params: dict[str, str]) -> str | None:
        return trouble if "container_cpu_usage" in params["query"] else None  # the third query keeps failing

    with serve(StandIn(misbehave, slow_seconds=0.6)) as stand_in:
        settings = pull_settings(database_url, tmp_path, stand_in, pull_attempts=2)
        report = prometheus.pull(settings, backoff_seconds=0)
        assert report.stored == 0
        assert len(report.failed) == 2
        assert f"{problem} after 2 tries" in report.failed[0]
        assert len(stand_in.requests) == 2 * (2 + 2)  # per day: two queries answered, the third tried twice
    assert count(settings, InboxEvent) == 0
    drain(settings)
    assert count(settings, Measurement) == 0


def test_a_bad_queries_file_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "queries.yaml"
    path.write_text("queries:\n  - metric: gpu_hours_used\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"queries\.0 needs `metric` and `query`"):
        prometheus.load_queries(path)
    shipped = prometheus.load_queries(None)
    assert [q.metric for q in shipped.queries] == [
        "gpu_hours_used",
        "gpu_hours_provisioned",
        "cpu_utilisation",
        "cold_start_seconds",
    ]


def test_a_4xx_is_not_retried_and_is_reported(database_url: str, tmp_path: Path) -> None:
    with serve(StandIn()) as stand_in:
        settings = pull_settings(database_url, tmp_path, stand_in, opencost_url=stand_in.url + "/wrong-prefix")
        report = opencost.pull(settings, backoff_seconds=0)
        assert report.stored == 0
        assert len(report.failed) == 2
        assert all("HTTP 404" in line for line in report.failed)
        assert len(stand_in.requests) == 2  # one try per window: asking again would not help
    assert count(settings, InboxEvent) == 0
