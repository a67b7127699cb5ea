"""The service catalogue and migrations over the API and from files."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.core.errors import InvalidInput
from service.core.models import Deployment
from service.core.settings import Settings
from service.figures import catalogue
from tests.factories import T0, iso, make_deployment
from workers.process import drain

HISTORY = [
    {"platform": "legacy", "effective_from": "2024-01-01T00:00:00Z"},
    {"platform": "new", "effective_from": "2026-10-06T00:00:00Z"},
]


def test_put_service_creates_then_replaces_it(client: TestClient, admin_headers: dict[str, str]) -> None:
    created = client.put(
        "/api/v1/services/ml-api", json={"team": "growth", "platforms": HISTORY}, headers=admin_headers
    )
    updated = client.put("/api/v1/services/ml-api", json={"team": "ml", "tier": "1"}, headers=admin_headers)
    listed = client.get("/api/v1/services", headers=admin_headers)

    assert created.status_code == 200
    assert [p["platform"] for p in created.json()["platforms"]] == ["legacy", "new"]
    assert (updated.json()["team"], updated.json()["tier"]) == ("ml", "1")
    assert [p["platform"] for p in updated.json()["platforms"]] == ["legacy", "new"]  # omitted: unchanged
    assert [s["slug"] for s in listed.json()] == ["ml-api"]


def test_a_new_platform_history_relabels_stored_deployments(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    client.post("/webhooks/generic", json=make_deployment(finished_at=T0 + timedelta(days=2)), headers=admin_headers)
    drain(settings)
    assert session.exec(select(Deployment.platform)).one() is None

    client.put("/api/v1/services/checkout-api", json={"platforms": HISTORY}, headers=admin_headers)

    session.rollback()  # end the read snapshot (SQLite WAL keeps one per transaction)
    assert session.exec(select(Deployment.platform)).one() == "new"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platforms": [{"platform": "new"}]}, "platforms.0.effective_from"),
        ({"platforms": [{"platform": "", "effective_from": "2026-01-01T00:00:00Z"}]}, "platforms.0.platform"),
        ({"platforms": [HISTORY[0], HISTORY[0]]}, "platforms"),
    ],
)
def test_bad_service_bodies_are_422(
    client: TestClient, admin_headers: dict[str, str], body: dict[str, object], field: str
) -> None:
    response = client.put("/api/v1/services/ml-api", json=body, headers=admin_headers)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_a_bad_slug_is_422(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.put("/api/v1/services/-bad%20slug", json={}, headers=admin_headers)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "slug"


def test_catalogue_writes_need_admin(client: TestClient, ingest_headers: dict[str, str]) -> None:
    assert client.put("/api/v1/services/x", json={}, headers=ingest_headers).status_code == 403
    assert client.put("/api/v1/services/x", json={}).status_code == 401


def test_migrations_are_created_once_by_name(client: TestClient, admin_headers: dict[str, str]) -> None:
    body = {"name": "to-k8s", "from_platform": "legacy", "to_platform": "new", "started_at": iso(T0)}

    created = client.post("/api/v1/migrations", json=body, headers=admin_headers)
    again = client.post("/api/v1/migrations", json=body, headers=admin_headers)
    listed = client.get("/api/v1/migrations", headers=admin_headers)

    assert created.status_code == 201
    assert created.json()["baseline_weeks"] == 8
    assert again.status_code == 409
    assert again.json()["error"]["field"] == "name"
    assert [m["name"] for m in listed.json()] == ["to-k8s"]


def test_catalogue_files_in_csv_and_yaml_say_the_same() -> None:
    csv_text = (
        "slug,team,tier,platform,effective_from\n"
        "ml-api,growth,1,legacy,2024-01-01T00:00:00Z\n"
        "ml-api,,,new,2026-10-06T00:00:00Z\n"
        "auth,core,2,,\n"
    )
    yaml_text = """
services:
  - slug: ml-api
    team: growth
    tier: "1"
    platforms:
      - {platform: legacy, effective_from: "2024-01-01T00:00:00Z"}
      - {platform: new, effective_from: "2026-10-06T00:00:00Z"}
  - {slug: auth, team: core, tier: "2", platforms: []}
"""
    from_csv = catalogue.parse_catalogue(csv_text, fmt="csv")
    from_yaml = catalogue.parse_catalogue(yaml_text, fmt="yaml")

    assert from_csv == from_yaml
    assert [p.platform for p in from_csv[0].platforms or []] == ["legacy", "new"]


@pytest.mark.parametrize(
    ("text", "fmt"),
    [("slug,team\n,growth\n", "csv"), ("- team: growth\n", "yaml"), ("a: [", "toml")],
)
def test_bad_catalogue_files_are_refused(text: str, fmt: str) -> None:
    with pytest.raises(InvalidInput):
        catalogue.parse_catalogue(text, fmt=fmt)
