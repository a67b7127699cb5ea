"""What the estimator computes reaches the API, the CSV and the JSON digest: level effect and interval,
counterfactual, scale, sensitivity bound, breakdown, design and the group-time table."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
from fastapi.testclient import TestClient

from service.core.settings import Settings
from service.effects import did
from tests.test_digest import STAYERS, before_after, digest
from tests.test_digest_resources import resource_story
from workers.process import drain


def assert_cost_effect(effect: dict[str, Any]) -> None:
    """The estimator's answer for compute cost, which the story raised by 12 %: on the ratio scale against the
    services not yet moved, its interval around the rise, the level effect = observed − counterfactual."""
    assert effect["method"] == "staggered_did"
    assert effect["scale"] == "ratio"
    assert effect["design"]["scale"] == "ratio"
    assert effect["design"]["controls"] == "not_yet_treated"
    assert effect["att_low"] <= effect["att"] <= effect["att_high"]
    assert effect["att"] > 0  # cost +12 %: a rise in the unit shown
    assert effect["counterfactual"] > 0
    assert abs(effect["after"] - effect["counterfactual"] - effect["att"]) < 1e-6 * effect["after"]
    assert effect["low"] <= 0.12 <= effect["high"]
    assert effect["low"] > -1


def assert_group_time(cells: list[dict[str, Any]]) -> None:
    """Every cell compares treated services with controls, before and after their move."""
    assert cells
    assert all(c["treated"] >= 1 and c["controls"] >= 1 for c in cells)
    assert any(c["since"] >= 0 for c in cells)
    assert any(c["since"] < 0 for c in cells)


def assert_group_time_csv(table: httpx.Response, cells: list[dict[str, Any]]) -> None:
    assert table.status_code == 200
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert len(rows) == len(cells)
    assert {"cohort", "week", "since", "att", "att_low", "att_high", "relative", "treated", "controls"} <= set(rows[0])


def test_a_migrations_effect_on_a_metric_is_returned_as_computed(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    migration = resource_story(client, admin_headers)
    url = f"/api/v1/migrations/{migration['name']}/effects"
    drain(settings)

    answer = client.get(url, params={"metric": "compute_cost"}, headers=admin_headers)
    assert answer.status_code == 200, answer.text
    effect = answer.json()
    assert_cost_effect(effect)
    cells = effect["group_time"]
    assert_group_time(cells)
    table = client.get(url, params={"metric": "compute_cost", "format": "csv"}, headers=admin_headers)
    assert_group_time_csv(table, cells)

    unknown = client.get(url, params={"metric": "no_such_metric"}, headers=admin_headers)
    assert unknown.status_code == 422
    assert "metric" in unknown.text
    missing = client.get("/api/v1/migrations/nowhere/effects", params={"metric": "deploys"}, headers=admin_headers)
    assert missing.status_code == 404

    content = digest(client, admin_headers, settings)
    item = before_after(content, "compute_cost")
    assert item["scale"] == "ratio"
    assert item["att"] == effect["att"]
    assert item["group_time"] == cells
    assert "breakdown" in item


def test_the_design_is_the_analysts_to_set_and_a_change_after_the_start_is_on_the_trail(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    migration = resource_story(client, admin_headers)
    drain(settings)
    design = {"base_weeks": 4, "min_pre_weeks": 1, "controls": "never_treated", "scale": "additive"}
    patched = client.patch(f"/api/v1/migrations/{migration['id']}", json={"design": design}, headers=admin_headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["design"] == design
    (change,) = [c for c in patched.json()["changes"] if c["subject"] == "migration"]
    assert change["before"] == {"design": None}
    assert change["after"] == {"design": design}
    assert change["after_start"] is True  # the story's migration started weeks ago: flagged

    url = f"/api/v1/migrations/{migration['name']}/effects"
    effect = client.get(url, params={"metric": "compute_cost"}, headers=admin_headers).json()
    assert effect["scale"] == "additive"
    assert effect["design"] == {**design, "pre_weeks": 4, "bound": did.BOUND}
    assert effect["controls"] == len(STAYERS)  # never-moved services only

    bad = client.patch(
        f"/api/v1/migrations/{migration['id']}", json={"design": {"controls": "sometimes"}}, headers=admin_headers
    )
    assert bad.status_code == 422
    assert "controls" in bad.text
