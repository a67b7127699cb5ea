"""Filters that name nothing are refused with a 404 naming the value; a platform filter counts the weeks
the services really ran on that platform."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from service.core.settings import Settings
from tests.factories import T0, make_deployment
from workers.process import drain


@pytest.fixture
def catalogued(client: TestClient, admin_headers: dict[str, str], settings: Settings) -> None:
    # checkout-api: legacy for the first two weeks of the window, then new; one success a day for four weeks.
    history = [
        {"platform": "legacy", "effective_from": "2024-01-01T00:00:00Z"},
        {"platform": "new", "effective_from": "2026-10-19T00:00:00Z"},  # 14 days after the window starts
    ]
    put = client.put(
        "/api/v1/services/checkout-api", json={"team": "payments", "platforms": history}, headers=admin_headers
    )
    assert put.status_code == 200
    events = [make_deployment(f"d{day}", finished_at=T0 + timedelta(days=day, hours=1)) for day in range(28)]
    assert client.post("/webhooks/generic", json=events, headers=admin_headers).status_code == 202
    drain(settings)


WINDOW = {"from": T0.date().isoformat(), "to": (T0 + timedelta(days=28)).date().isoformat()}


@pytest.mark.usefixtures("catalogued")
@pytest.mark.parametrize(
    ("path", "params", "field", "named"),
    [
        ("/api/v1/metrics/dora", {"service": "checkout-apj"}, "service", "checkout-apj"),
        ("/api/v1/metrics/weekly", {"team": "paymints"}, "team", "paymints"),
        ("/api/v1/metrics/friction", {"service": "nope"}, "service", "nope"),
        ("/api/v1/friction", {"service": "nope"}, "service", "nope"),
        ("/api/v1/friction/themes", {"service": "nope"}, "service", "nope"),
    ],
)
def test_an_unknown_service_or_team_is_404_naming_it(
    client: TestClient, admin_headers: dict[str, str], path: str, params: dict[str, str], field: str, named: str
) -> None:
    response = client.get(path, params={**WINDOW, **params} if "metrics" in path else params, headers=admin_headers)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["field"] == field
    assert named in error["message"]


@pytest.mark.usefixtures("catalogued")
def test_a_look_alike_spelling_of_a_known_service_is_that_service(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = client.get(
        "/api/v1/metrics/dora", params={**WINDOW, "service": "Checkout\u2010API "}, headers=admin_headers
    )
    assert response.status_code == 200
    assert response.json()["deployment_frequency"]["deployments"] == 28


@pytest.mark.usefixtures("catalogued")
def test_with_a_platform_filter_deploys_per_week_count_only_the_weeks_on_that_platform(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    def per_week(platform: str | None) -> float:
        params = {**WINDOW, **({"platform": platform} if platform else {})}
        body = client.get("/api/v1/metrics/dora", params=params, headers=admin_headers).json()
        return float(body["deployment_frequency"]["per_week"])

    # Seven a week throughout: on each platform for two of the four weeks, still seven a week there.
    assert per_week(None) == pytest.approx(7.0)
    assert per_week("legacy") == pytest.approx(7.0)
    assert per_week("new") == pytest.approx(7.0)


@pytest.mark.usefixtures("catalogued")
def test_a_digest_for_a_team_no_service_has_is_404_naming_it(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.get("/api/v1/digests/2026-W42", params={"audience": "team:paymints"}, headers=admin_headers)
    assert response.status_code == 404
    assert "paymints" in response.json()["error"]["message"]
    known = client.get("/api/v1/digests/2026-W42", params={"audience": "team:payments"}, headers=admin_headers)
    assert known.status_code == 200
