"""Any measurement a user sends can be judged: declared once (``PUT /api/v1/metrics/{name}`` or
``frictionlog metrics define``) with its direction, unit and scale, it flows through the estimator, the
effects endpoint and the digest like the built-in metrics."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from service.app.cli import main
from service.core.settings import Settings, get_settings
from tests.factories import iso
from tests.test_digest import FIRST, MOVERS, STAYERS, WEEKS, before_after, digest, story
from workers.process import drain


def _queue_waits(client: TestClient, headers: dict[str, str], moves: dict[str, int | None]) -> None:
    """Per service and week, three queue-wait measurements: 30 s on the old platform, 12 s on the new."""
    rng = random.Random(11)
    events: list[dict[str, Any]] = []
    for service, moved in moves.items():
        level = rng.uniform(0.8, 1.2)
        for week in range(WEEKS):
            on_new = moved is not None and week >= moved
            for sample in range(3):
                at = FIRST + timedelta(weeks=week, days=1 + sample)
                value = (12 if on_new else 30) * level * rng.uniform(0.85, 1.15)
                events.append(
                    {"type": "measurement", "id": f"q-{service}-{week}-{sample}", "service": service}
                    | {"metric": "queue_wait_seconds", "value": round(value, 2), "at": iso(at)}
                )
    for offset in range(0, len(events), 500):
        response = client.post("/webhooks/generic", json=events[offset : offset + 500], headers=headers)
        assert response.status_code == 202, response.text


def test_a_declared_measurement_is_judged_like_a_built_in_metric(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    moves = {**MOVERS, **STAYERS}
    story(client, admin_headers, moves=moves, before=2, after=6, noise=0.6)
    _queue_waits(client, admin_headers, moves)
    drain(settings)
    (migration,) = client.get("/api/v1/migrations", headers=admin_headers).json()
    url = f"/api/v1/migrations/{migration['name']}/effects"
    undeclared = client.get(url, params={"metric": "queue_wait_seconds"}, headers=admin_headers)
    assert undeclared.status_code == 422  # stored and charted, but not judged until declared
    early = {"criteria": [{"metric": "queue_wait_seconds", "direction": "at_most", "target": -0.3}]}
    refused = client.patch(f"/api/v1/migrations/{migration['id']}", json=early, headers=admin_headers)
    assert refused.status_code == 422
    assert "metric" in refused.text

    body = {"direction": "lower", "unit": "seconds", "scale": "ratio", "label": "Queue wait"}
    declared = client.put("/api/v1/metrics/queue_wait_seconds", json=body, headers=admin_headers)
    assert declared.status_code == 200, declared.text
    assert declared.json()["direction"] == "lower"

    effect = client.get(url, params={"metric": "queue_wait_seconds"}, headers=admin_headers).json()
    assert effect["method"] == "staggered_did"
    assert effect["scale"] == "ratio"
    assert effect["higher_is_better"] is False
    assert effect["verdict"] == "changed"
    assert effect["low"] <= 12 / 30 - 1 <= effect["high"]  # 30 s → 12 s: −60 %
    assert effect["sentence"].startswith("Queue wait: -")

    criterion = {"metric": "queue_wait_seconds", "direction": "at_most", "target": -0.3}
    patched = client.patch(
        f"/api/v1/migrations/{migration['id']}", json={"criteria": [criterion]}, headers=admin_headers
    )
    assert patched.status_code == 200, patched.text

    content = digest(client, admin_headers, settings)
    item = before_after(content, "queue_wait_seconds")
    assert item["verdict"] == "changed"
    assert item["unit"] == "seconds"
    (judged,) = content["migration"]["criteria"]
    assert judged["metric"] == "queue_wait_seconds"
    assert judged["status"] in ("met", "on_track")  # −60 % against a goal of at most −30 %
    assert judged["goal"] == "Queue wait at most -30%"


def test_a_metric_declaration_names_the_field_it_refuses(client: TestClient, admin_headers: dict[str, str]) -> None:
    cases = [
        ("queue_wait", {"direction": "sideways", "unit": "s"}, "direction"),
        ("queue_wait", {"direction": "lower", "unit": "s", "scale": "log"}, "scale"),
        ("queue_wait", {"direction": "lower", "unit": ""}, "unit"),
        ("deploys", {"direction": "lower", "unit": "per week"}, "name"),
        ("Queue Wait", {"direction": "lower", "unit": "s"}, "name"),
    ]
    for name, body, field in cases:
        answer = client.put(f"/api/v1/metrics/{name}", json=body, headers=admin_headers)
        assert answer.status_code == 422, (name, body, answer.text)
        assert field in answer.text, (field, answer.text)


@pytest.fixture
def cli(database_url: str) -> Iterator[CliRunner]:
    get_settings.cache_clear()
    yield CliRunner(env={"FRICTIONLOG_DATABASE_URL": database_url, "FRICTIONLOG_BROKER_URL": ""})
    get_settings.cache_clear()


@pytest.mark.usefixtures("client")
def test_the_cli_defines_a_metric(cli: CliRunner) -> None:
    get_settings.cache_clear()
    made = cli.invoke(
        main,
        ["metrics", "define", "config_minutes", "--direction", "lower", "--unit", "minutes"],
        catch_exceptions=False,
    )
    assert made.exit_code == 0, made.output
    assert made.output.strip() == "config_minutes: lower is better, minutes, ratio"
    get_settings.cache_clear()
    again = cli.invoke(
        main,
        ["metrics", "define", "config_minutes", "--direction", "higher", "--unit", "minutes", "--scale", "additive"],
        catch_exceptions=False,
    )
    assert again.output.strip() == "config_minutes: higher is better, minutes, additive"
    refused = cli.invoke(main, ["metrics", "define", "deploys", "--direction", "lower", "--unit", "x"])
    assert refused.exit_code != 0


@pytest.mark.usefixtures("client")
def test_the_cli_sets_a_migrations_design_and_the_trail_records_it(
    cli: CliRunner, client: TestClient, admin_headers: dict[str, str]
) -> None:
    started = {"name": "to-new", "from_platform": "legacy", "to_platform": "new", "started_at": iso(FIRST)}
    assert client.post("/api/v1/migrations", json=started, headers=admin_headers).status_code == 201
    get_settings.cache_clear()
    made = cli.invoke(
        main, ["migrations", "design", "to-new", "--base-weeks", "4", "--controls", "never_treated", "--by", "analyst"]
    )
    assert made.exit_code == 0, made.output
    assert made.output.strip() == "to-new: base_weeks=4, controls=never_treated"
    (migration,) = client.get("/api/v1/migrations", headers=admin_headers).json()
    assert migration["design"] == {"base_weeks": 4, "controls": "never_treated"}
    (change,) = [c for c in migration["changes"] if c["subject"] == "migration"]
    assert change["changed_by"] == "analyst"
    assert change["after_start"] is True
    get_settings.cache_clear()
    reset = cli.invoke(main, ["migrations", "design", "to-new", "--reset"])
    assert reset.output.strip() == "to-new: the defaults"
