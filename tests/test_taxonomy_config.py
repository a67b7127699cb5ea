"""One taxonomy per deployment: a custom FRICTIONLOG_TAXONOMY_PATH reaches ingest and every reader."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app.api.app import create_app
from service.core.settings import Settings
from service.figures.friction.categorise import configured_taxonomy, load_taxonomy
from tests.factories import T0, iso, issue_token
from tests.fakes import RecordingWaker
from tests.helpers import make_settings
from workers.process import drain

CUSTOM = """\
threshold: 1
categories:
  - id: hermes_bus
    title: Hermes event bus
    terms: {hermes: 3, "queue stuck": 2}
"""


@pytest.fixture
def custom(database_url: str, tmp_path: Path) -> Settings:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(CUSTOM, encoding="utf-8")
    return make_settings(database_url, tmp_path, taxonomy_path=path)


@pytest.fixture
def custom_client(custom: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(custom, waker=RecordingWaker())) as client:
        yield client


def test_friction_metrics_title_a_custom_taxonomy_s_categories(custom_client: TestClient, custom: Settings) -> None:
    headers = {"Authorization": f"Bearer {issue_token(custom, 'admin', ['ingest', 'read'])}"}
    body = {"text": "hermes queue stuck for an hour", "occurred_at": iso(T0)}
    assert custom_client.post("/api/v1/friction", json=body, headers=headers).status_code == 202
    drain(custom)

    got = custom_client.get(
        "/api/v1/metrics/friction", params={"from": "2026-10-01", "to": "2026-10-12"}, headers=headers
    ).json()

    assert [(c["category"], c["title"]) for c in got["by_category"]] == [("hermes_bus", "Hermes event bus")]


def test_the_taxonomy_is_read_once_per_process(custom: Settings) -> None:
    load_taxonomy.cache_clear()
    first = configured_taxonomy(custom)
    assert custom.taxonomy_path is not None
    custom.taxonomy_path.write_text("not: [a taxonomy", encoding="utf-8")  # a later edit is not re-read
    assert configured_taxonomy(custom) is first
    assert [c.id for c in first.categories] == ["hermes_bus"]
    load_taxonomy.cache_clear()
