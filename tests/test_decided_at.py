"""``--decided-at``: a migration recorded after the fact keeps the date its criteria were really decided,
shown as "recorded X, decided Y per <link>" — and, recorded after the start, never as set in advance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from service.app.cli import main
from service.core.errors import InvalidInput
from service.core.settings import get_settings
from service.core.timeutil import utcnow
from service.digest.migration import change_notes
from tests.factories import iso


@pytest.fixture
def cli(database_url: str) -> Iterator[CliRunner]:
    get_settings.cache_clear()
    yield CliRunner(env={"FRICTIONLOG_DATABASE_URL": database_url, "FRICTIONLOG_BROKER_URL": ""})
    get_settings.cache_clear()


def invoke(cli: CliRunner, *args: str) -> str:
    get_settings.cache_clear()
    result = cli.invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_backdated_criterion_shows_both_dates_and_stays_flagged(
    cli: CliRunner, client: TestClient, admin_headers: dict[str, str]
) -> None:
    started = utcnow() - timedelta(days=200)
    migration = {"name": "to-new", "from_platform": "legacy", "to_platform": "new", "started_at": iso(started)}
    created = client.post("/api/v1/migrations", json=migration, headers=admin_headers)
    assert created.status_code == 201
    decided = (started - timedelta(days=30)).date().isoformat()
    invoke(
        cli,
        *("migrations", "criteria", "set", "to-new", "deploys", "+50%", "--direction", "at_least"),
        *("--decided-at", decided, "--decided-ref", "https://wiki.example.com/rfc-12"),
    )
    listed = invoke(cli, "migrations", "criteria", "list", "to-new")
    today = utcnow().date().isoformat()
    assert f"* recorded {today}" in listed  # flagged: recorded after the start
    assert f"decided {decided} per https://wiki.example.com/rfc-12" in listed
    listed_api = client.get("/api/v1/migrations", headers=admin_headers).json()
    change = listed_api[0]["changes"][0]
    assert change["after_start"] is True
    assert change["decided_at"].startswith(decided)


def test_a_decision_in_the_future_or_a_ref_alone_is_refused(
    cli: CliRunner, client: TestClient, admin_headers: dict[str, str]
) -> None:
    migration = {"name": "to-new", "from_platform": "legacy", "to_platform": "new", "started_at": iso(utcnow())}
    assert client.post("/api/v1/migrations", json=migration, headers=admin_headers).status_code == 201
    get_settings.cache_clear()
    base = ["migrations", "criteria", "set", "to-new", "deploys", "+50%", "--direction", "at_least"]
    future = iso(utcnow() + timedelta(hours=12))  # a time parse_timestamp takes (up to two days ahead)
    with pytest.raises(InvalidInput, match="decided_at is in the future"):
        cli.invoke(main, [*base, "--decided-at", future], catch_exceptions=False)
    get_settings.cache_clear()
    alone = cli.invoke(main, [*base, "--decided-ref", "https://wiki.example.com/x"])
    assert alone.exit_code != 0
    assert "--decided-ref goes with --decided-at" in alone.output


def test_the_digest_note_says_recorded_and_decided() -> None:
    at = datetime(2026, 12, 7, tzinfo=UTC)
    change: dict[str, object] = {
        "subject": "deploys",
        "action": "created",
        "before": None,
        "after": {"metric": "deploys"},
        "changed_by": "cli:lead",
        "changed_at": at,
        "after_start": True,
        "decided_at": datetime(2026, 2, 1, tzinfo=UTC),
        "decided_ref": "https://wiki.example.com/rfc-12",
    }
    notes = change_notes((change,), {"deploys": "Deploys per week"})
    assert notes[0].sentence.startswith(
        "Deploys per week: recorded 2026-12-07 by cli:lead, decided 2026-02-01 per https://wiki.example.com/rfc-12"
    )
    assert "not shown as set in advance" in notes[0].sentence
    plain = change_notes(({**change, "decided_at": None, "decided_ref": None},))
    assert plain[0].sentence.endswith("after the migration had started — not set in advance.")
