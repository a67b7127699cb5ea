"""``frictionlog rebuild``: a lead's category survives, and every change the rebuild makes is reported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from integrations import friction_api, generic, registry
from integrations.config import IntegrationConfig
from service.app.cli import main
from service.core.db import get_engine
from service.core.models import Deployment, FrictionReport
from service.core.settings import Settings, get_settings
from service.figures.filters import Filters
from service.ingest import inbox
from tests.factories import make_deployment
from tests.vendors import gh_deployment_status, github_request
from workers.process import drain


@pytest.fixture
def cli(database_url: str) -> Iterator[CliRunner]:
    get_settings.cache_clear()
    yield CliRunner(env={"FRICTIONLOG_DATABASE_URL": database_url, "FRICTIONLOG_BROKER_URL": ""})
    get_settings.cache_clear()


def test_a_rebuild_keeps_a_leads_category_and_reports_what_it_recategorised(
    cli: CliRunner, settings: Settings, database_url: str
) -> None:
    texts = ["the CI build is flaky again", "cold starts take 40 s on ml-api", "the coffee machine is broken"]
    with Session(get_engine(database_url)) as db:
        inbox.accept(db, [friction_api.delivery({"text": t}, headers={}) for t in texts])
        inbox.accept(db, generic.deliveries(make_deployment(), headers={}))
        db.commit()
    drain(settings)
    with Session(get_engine(database_url)) as db:
        flaky, cold, coffee = db.exec(select(FrictionReport).order_by(FrictionReport.id)).all()  # type: ignore[arg-type]
        flaky.category = "cost"  # a machine category a former rule chose: the rebuild re-derives it
        coffee.category, coffee.category_source = "cost", "human"  # a lead's: it survives
        db.add_all([flaky, coffee])
        db.commit()
        ids = (flaky.id, cold.id, coffee.id)

    get_settings.cache_clear()
    result = cli.invoke(main, ["rebuild", "--yes"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert f"friction #{ids[0]}: cost → build_ci (by rule)" in result.stdout
    assert f"#{ids[1]}" not in result.stdout
    assert f"#{ids[2]}" not in result.stdout
    with Session(get_engine(database_url)) as db:
        categories = dict(db.exec(select(FrictionReport.id, FrictionReport.category)).all())
        assert len(db.exec(select(Deployment.id)).all()) == 1
    assert categories == {ids[0]: "build_ci", ids[1]: "cold_start_latency", ids[2]: "cost"}


def test_a_rebuild_that_changes_nothing_says_so(cli: CliRunner, settings: Settings, database_url: str) -> None:
    with Session(get_engine(database_url)) as db:
        inbox.accept(db, generic.deliveries(make_deployment(), headers={}))
        db.commit()
    drain(settings)
    get_settings.cache_clear()
    result = cli.invoke(main, ["rebuild", "--yes"], catch_exceptions=False)
    assert "the rebuild changed nothing" in result.stdout


def test_services_alias_moves_an_old_name_s_events(cli: CliRunner, settings: Settings, database_url: str) -> None:
    with Session(get_engine(database_url)) as db:
        inbox.accept(db, generic.deliveries(make_deployment(service="payments"), headers={}))
        db.commit()
    drain(settings)
    get_settings.cache_clear()
    result = cli.invoke(main, ["services", "alias", "Payments", "billing"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "payments is now an alias of billing; 1 stored events moved" in result.stdout
    with Session(get_engine(database_url)) as db:
        assert db.exec(select(Deployment.service)).all() == ["billing"]


def test_a_rebuild_after_an_alias_rule_moves_the_rows_and_their_rollups_and_says_so(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    """40 deployments of acme/checkout-api under its own name, rolled up; then a rule maps the repository to
    ``payments`` and a rebuild: /metrics/weekly counts 40 in all (not 40 for each), as /metrics/dora does."""
    from service.figures import rollups_db

    monday = datetime(2026, 10, 5, tzinfo=UTC)
    config = IntegrationConfig.from_settings(settings)
    with Session(get_engine(database_url)) as db:
        for n in range(40):
            at = monday + timedelta(hours=3 * n)
            request = github_request("deployment_status", gh_deployment_status(n + 1, f"{n:040x}", "success", at))
            headers = {name.lower(): value for name, value in request["headers"].items()}
            body = request["content"]
            made = registry.vendor_delivery("github", headers, body, json.loads(body), config)
            inbox.accept(db, [made.delivery])
        db.commit()
    drain(settings)
    with Session(get_engine(database_url)) as db:
        rollups_db.refresh(db, settings)
    renamed = CliRunner(env={
        "FRICTIONLOG_DATABASE_URL": database_url, "FRICTIONLOG_BROKER_URL": "",
        "FRICTIONLOG_SERVICE_ALIASES": '{"acme/checkout-api": "payments"}', "FRICTIONLOG_SPOOL_DIR": str(tmp_path),
    })  # fmt: skip
    get_settings.cache_clear()
    result = renamed.invoke(main, ["rebuild", "--yes"], catch_exceptions=False)
    get_settings.cache_clear()

    assert "deployment of checkout-api: 40 → 0 rows" in result.stdout
    assert "deployment of payments: 0 → 40 rows" in result.stdout
    with Session(get_engine(database_url)) as db:
        rollups_db.refresh(db, settings)
        read = rollups_db.read(db, settings, Filters(), None, None)
    assert read is not None
    assert int(read["deployments"].sum()) == 40
    assert set(read["service"]) == {"payments"}
