"""``frictionlog cost import`` and what ``rebuild`` does to cost lines; the embedded runner's pulls."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.app.api.app import create_app
from service.app.cli import main
from service.core.db import get_engine
from service.core.models import InboxEvent
from service.core.models.cost import CostLine, Measurement
from service.core.settings import get_settings
from service.figures.cost.focus_files import FocusError
from tests.factories import T0, iso, issue_token
from tests.fakes import RecordingWaker
from tests.focus_files import Charge, write_csv
from tests.helpers import make_settings
from tests.pull_standins import StandIn, serve
from workers.celery_app import configure, create_celery
from workers.embedded import EmbeddedWorker
from workers.process import drain


@pytest.fixture
def cli(database_url: str) -> Iterator[CliRunner]:
    get_settings.cache_clear()
    env = {"FRICTIONLOG_DATABASE_URL": database_url, "FRICTIONLOG_BROKER_URL": "", "FRICTIONLOG_CURRENCY_RATES": "{}"}
    yield CliRunner(env=env)
    get_settings.cache_clear()


def lines(database_url: str) -> list[tuple[str, float]]:
    with Session(get_engine(database_url)) as session:
        return sorted((c.source, c.amount) for c in session.exec(select(CostLine)))


def test_cost_import_cli_imports_and_reports_the_row_and_column(
    cli: CliRunner, database_url: str, tmp_path: Path
) -> None:
    charges = [Charge(T0, 10.0, tags={"service": "a"}), Charge(T0, 5.0), Charge(T0, -2.0, category="Credit")]
    result = cli.invoke(main, ["cost", "import", str(write_csv(tmp_path / "bill.csv.gz", charges, gzipped=True))])
    assert result.exit_code == 0, result.output
    assert "imported 3 rows as 3 cost lines" in result.output
    assert "rows read" in result.output  # the progress bar
    assert lines(database_url) == [("focus", -2.0), ("focus", 5.0), ("focus", 10.0)]
    bad = cli.invoke(main, ["cost", "import", str(write_csv(tmp_path / "eur.csv", [Charge(T0, 1.0, currency="EUR")]))])
    assert isinstance(bad.exception, FocusError)
    assert bad.exception.message.startswith("row 1, column BillingCurrency: currency EUR has no rate")
    assert lines(database_url) == [("focus", -2.0), ("focus", 5.0), ("focus", 10.0)]  # nothing imported


def test_rebuild_rederives_pulled_and_sent_costs_and_keeps_imported_bills(
    cli: CliRunner, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path)
    assert cli.invoke(main, ["cost", "import", str(write_csv(tmp_path / "b.csv", [Charge(T0, 7.0)]))]).exit_code == 0
    event = {
        "type": "cost",
        "id": "g1",
        "service": "a",
        "period_start": iso(T0),
        "period_end": iso(T0),
        "amount": 2.0,
        "currency": "USD",
    }
    measure = {
        "type": "measurement",
        "id": "m1",
        "service": "a",
        "metric": "cpu_utilisation",
        "value": 0.5,
        "at": iso(T0),
    }
    with TestClient(create_app(settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        headers = {"Authorization": f"Bearer {issue_token(settings, 'ci', ['ingest'])}"}
        assert client.post("/webhooks/generic", json=[event, measure], headers=headers).status_code == 202
    drain(settings)
    assert lines(database_url) == [("focus", 7.0), ("generic", 2.0)]
    result = cli.invoke(main, ["rebuild", "--yes"])
    assert result.exit_code == 0, result.output
    assert lines(database_url) == [("focus", 7.0), ("generic", 2.0)]
    with Session(get_engine(database_url)) as session:
        assert [m.value for m in session.exec(select(Measurement))] == [0.5]


def test_beat_and_the_embedded_runner_schedule_the_pulls(database_url: str, tmp_path: Path) -> None:
    with serve(StandIn()) as stand_in:
        settings = make_settings(
            database_url,
            tmp_path,
            opencost_url=stand_in.url,
            prometheus_url=stand_in.url,
            pull_lookback_days=1,
            pull_interval_seconds=1800,
        )
        schedule = configure(create_celery(settings), settings).conf.beat_schedule
        assert schedule["pull-opencost"]["task"] == "frictionlog.pull.opencost"
        assert schedule["pull-opencost"]["schedule"].run_every == timedelta(seconds=1800)
        assert schedule["pull-prometheus"]["task"] == "frictionlog.pull.prometheus"
        worker = EmbeddedWorker(settings, poll_seconds=0.05)
        worker.start()
        try:
            for _ in range(200):  # poll with a deadline: the worker pulls on its first pass
                with Session(get_engine(database_url)) as session:
                    sources = set(session.exec(select(InboxEvent.source)).all())
                if sources == {"opencost", "prometheus"}:
                    break
                time.sleep(0.05)
        finally:
            worker.close()
        assert sources == {"opencost", "prometheus"}
        asked = len(stand_in.requests)
        assert asked == 1 + 4  # one day: one allocation request, four queries; not again within the interval
