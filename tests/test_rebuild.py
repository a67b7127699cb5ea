"""``frictionlog rebuild``: a lead's category survives, and every change the rebuild makes is reported."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from integrations import friction_api, generic
from service.app.cli import main
from service.core.db import get_engine
from service.core.models import Deployment, FrictionReport
from service.core.settings import Settings, get_settings
from service.ingest import inbox
from tests.factories import make_deployment
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
