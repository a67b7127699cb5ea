"""A re-import replaces only the billing periods the file declares (issue 26 #8), and says what it would do
before doing it (``frictionlog cost import --dry-run``): a November file with one credit dated 31 October, and
no BillingPeriodStart, once replaced October's 31 lines ($3,100) by −$5."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.app.api.app import create_app
from service.app.cli import main
from service.core.db import get_engine
from service.core.models.cost import CostLine
from service.core.settings import get_settings
from tests.factories import issue_token
from tests.fakes import RecordingWaker
from tests.focus_files import Charge, write_csv
from tests.helpers import make_settings

DAY = timedelta(days=1)
OCTOBER = [Charge(datetime(2026, 10, 1, tzinfo=UTC) + d * DAY, 100.0, tags={"service": "ml-api"}) for d in range(31)]
NOVEMBER = [Charge(datetime(2026, 11, 1, tzinfo=UTC) + d * DAY, 50.0, tags={"service": "ml-api"}) for d in range(3)]
LATE_CREDIT = Charge(datetime(2026, 10, 31, tzinfo=UTC), -5.0, tags={"service": "ml-api"}, category="Credit")


def undeclared(charges: list[Charge]) -> list[dict[str, Any]]:
    """Rows without BillingPeriodStart/End (an export that leaves them out)."""
    rows = [c.row() for c in charges]
    for row in rows:
        del row["BillingPeriodStart"], row["BillingPeriodEnd"]
    return rows


@pytest.fixture
def cli(database_url: str) -> Iterator[CliRunner]:
    get_settings.cache_clear()
    yield CliRunner(env={"FRICTIONLOG_DATABASE_URL": database_url, "FRICTIONLOG_BROKER_URL": ""})
    get_settings.cache_clear()


def by_month(database_url: str) -> dict[str, tuple[int, float]]:
    """Month of the charge → (lines, total)."""
    out: dict[str, tuple[int, float]] = {}
    with Session(get_engine(database_url)) as session:
        for line in session.exec(select(CostLine)):
            month = line.period_start.strftime("%Y-%m")
            count, total = out.get(month, (0, 0.0))
            out[month] = (count + 1, total + line.amount)
    return out


def test_a_file_replaces_only_the_periods_it_declares(cli: CliRunner, database_url: str, tmp_path: Path) -> None:
    october = write_csv(tmp_path / "october.csv", OCTOBER)
    assert cli.invoke(main, ["cost", "import", str(october)], catch_exceptions=False).exit_code == 0
    assert by_month(database_url) == {"2026-10": (31, 3100.0)}
    november = write_csv(tmp_path / "november.csv", undeclared([*NOVEMBER, LATE_CREDIT]))

    for _ in range(2):  # the same file twice: updated, not doubled
        result = cli.invoke(main, ["cost", "import", str(november)], catch_exceptions=False)
        assert result.exit_code == 0, result.output

    assert by_month(database_url) == {"2026-10": (32, 3095.0), "2026-11": (3, 150.0)}
    assert "billing periods: none declared; replaced 0 lines" in result.output
    assert "AWS 2026-10-01 (no BillingPeriodStart: not replaced): adds 0 lines, updates 1" in result.output

    corrected = write_csv(tmp_path / "october2.csv", [Charge(datetime(2026, 10, 2, tzinfo=UTC), 7.0)])
    result = cli.invoke(main, ["cost", "import", str(corrected)], catch_exceptions=False)
    assert "AWS 2026-10-01: replaces its 32 stored lines with 1" in result.output
    assert by_month(database_url) == {"2026-10": (1, 7.0), "2026-11": (3, 150.0)}  # declared: replaced whole


def test_a_dry_run_says_what_it_would_replace_and_writes_nothing(
    cli: CliRunner, database_url: str, tmp_path: Path
) -> None:
    assert cli.invoke(main, ["cost", "import", str(write_csv(tmp_path / "oct.csv", OCTOBER))]).exit_code == 0
    corrected = write_csv(tmp_path / "fix.csv", OCTOBER[:10] + NOVEMBER)

    result = cli.invoke(main, ["cost", "import", "--dry-run", str(corrected)], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert "AWS 2026-10-01: replaces its 31 stored lines with 10" in result.output
    assert "AWS 2026-11-01: replaces its 0 stored lines with 3" in result.output
    assert "dry run: 13 rows read and checked; nothing was written" in result.output
    assert by_month(database_url) == {"2026-10": (31, 3100.0)}


def test_a_large_undeclared_file_is_planned_and_updated_not_doubled(
    cli: CliRunner, database_url: str, tmp_path: Path
) -> None:
    charges = [Charge(datetime(2026, 10, 5, tzinfo=UTC), 1.0, tags={"service": f"svc-{i}"}) for i in range(1200)]
    path = write_csv(tmp_path / "many.csv", undeclared(charges))
    assert cli.invoke(main, ["cost", "import", str(path)], catch_exceptions=False).exit_code == 0

    again = cli.invoke(main, ["cost", "import", "--dry-run", str(path)], catch_exceptions=False)

    assert "AWS 2026-10-01 (no BillingPeriodStart: not replaced): adds 0 lines, updates 1200" in again.output
    assert cli.invoke(main, ["cost", "import", str(path)], catch_exceptions=False).exit_code == 0
    assert by_month(database_url) == {"2026-10": (1200, 1200.0)}


def test_the_api_dry_run_says_what_an_import_would_replace_and_writes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, import_dir=tmp_path / "imports")
    admin = {"Authorization": f"Bearer {issue_token(settings, 'a', ['admin'])}"}
    with TestClient(create_app(settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        october = write_csv(tmp_path / "oct.csv", OCTOBER).read_bytes()
        assert client.post("/api/v1/cost/imports", content=october, headers=admin).status_code == 201
        november = write_csv(tmp_path / "nov.csv", undeclared([*NOVEMBER, LATE_CREDIT])).read_bytes()

        answer = client.post("/api/v1/cost/imports/plan", content=november, headers=admin)

    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == 4
    assert [
        (s["billing_period"], s["declared"], s["stored_lines"], s["incoming_lines"]) for s in answer.json()["scopes"]
    ] == [
        ("2026-10-01", False, 0, 1),
        ("2026-11-01", False, 0, 3),
    ]
    assert by_month(database_url) == {"2026-10": (31, 3100.0)}  # nothing written
