"""The weekly pulse is judged like any metric: Frictionlog declares ``infra_hours_pulse`` itself (fewer
hours is better, hours, ratio scale), so its measurements — produced by the pulse's own path,
``compute.weekly`` → ``measurement_events`` — reach the estimator, the criteria, the digest and the
scorecard's productivity tile with no user step, and nobody can re-declare it the wrong way round."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient

from service.core.settings import Settings
from service.figures.pulse import compute, service
from tests.test_digest import FIRST, MOVERS, STAYERS, WEEKS, before_after, digest, story


def _pulse(client: TestClient, headers: dict[str, str], moves: dict[str, int | None]) -> None:
    """Five engineers per service asked each week, four answering: mostly 4–8 h on the old platform,
    mostly <1 h on the new (the buckets' midpoints: 6 h → 0.5 h)."""
    rng = random.Random(5)
    asked, answers = [], []
    windows = {}
    for week in range(WEEKS):
        label = f"2026-W{32 + week}"
        windows[label] = (FIRST + timedelta(weeks=week), FIRST + timedelta(weeks=week + 1))
        for svc, moved in moves.items():
            on_new = moved is not None and week >= moved
            asked += [(label, svc)] * 5
            for _ in range(4):
                usual, other = ("lt1", "1to4") if on_new else ("4to8", "1to4")
                answers.append((label, svc, usual if rng.random() < 0.8 else other))
    table = compute.weekly(
        pd.DataFrame(asked, columns=["week", "service"]), pd.DataFrame(answers, columns=["week", "service", "bucket"])
    )
    events: list[dict[str, Any]] = service.measurement_events(table, windows)
    for offset in range(0, len(events), 500):
        response = client.post("/webhooks/generic", json=events[offset : offset + 500], headers=headers)
        assert response.status_code == 202, response.text


def test_a_seeded_pulse_change_is_judged_as_an_effect_with_no_declaration(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    moves = {**MOVERS, **STAYERS}
    story(client, admin_headers, moves=moves, before=2, after=6, noise=0.6)
    _pulse(client, admin_headers, moves)
    (migration,) = client.get("/api/v1/migrations", headers=admin_headers).json()

    content = digest(client, admin_headers, settings)
    item = before_after(content, compute.METRIC)
    assert item["verdict"] == "changed"
    assert item["unit"] == "hours"
    assert item["higher_is_better"] is False
    assert item["low"] < item["relative"] < item["high"] < 0  # fewer hours, the interval below zero

    (tile,) = [t for t in content["scorecard"]["tiles"] if t["key"] == "productivity"]
    judged = [tile["metric"], *(m["metric"] for m in tile["others"])]
    assert compute.METRIC in judged

    criterion = {"metric": compute.METRIC, "direction": "at_most", "target": -0.3}
    patched = client.patch(
        f"/api/v1/migrations/{migration['id']}", json={"criteria": [criterion]}, headers=admin_headers
    )
    assert patched.status_code == 200, patched.text
    (result,) = digest(client, admin_headers, settings)["migration"]["criteria"]
    assert result["metric"] == compute.METRIC
    assert result["status"] in ("met", "on_track")

    wrong_way = {"direction": "higher", "unit": "hours"}
    refused = client.put(f"/api/v1/metrics/{compute.METRIC}", json=wrong_way, headers=admin_headers)
    assert refused.status_code == 422
    assert "name" in refused.text
