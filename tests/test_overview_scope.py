"""The overview's range and service filter: charts cut to the range alike, and bad filters named."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.core.settings import Settings
from service.digest.models import Charts
from tests.factories import issue_token
from tests.test_web import sign_in


def test_a_range_cuts_every_chart_series_alike() -> None:
    charts = Charts(
        weeks=["2026-W40", "2026-W41", "2026-W42", "2026-W43"],
        deploys={"migrated": [1, 2, 3, 4], "not_migrated": [5, 6, 7, 8]},
        incidents={"migrated": [0, 1, 0, 1]},
        lead_time={"migrated": [1.0, None, 3.0, 4.0]},
        friction_by_category={"deploys": 3},
    )
    cut = charts.within("2026-W41", "2026-W42")
    assert cut.weeks == ["2026-W41", "2026-W42"]
    assert cut.deploys == {"migrated": [2, 3], "not_migrated": [6, 7]}
    assert cut.incidents == {"migrated": [1, 0]}
    assert cut.lead_time == {"migrated": [None, 3.0]}
    assert cut.friction_by_category == {"deploys": 3}
    assert charts.within(None, None) == charts


def test_the_overview_names_a_bad_range_or_an_unknown_service(client: TestClient, settings: Settings) -> None:
    sign_in(client, issue_token(settings, "lead", ["read"]))
    backwards = client.get("/", params={"from": "2026-W45", "week": "2026-W40"})
    assert backwards.status_code == 422
    assert "from" in backwards.text
    unknown = client.get("/", params={"service": "no-such-service"})
    assert unknown.status_code == 404
    assert "no-such-service" in unknown.text
