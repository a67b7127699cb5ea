"""The weekly pulse is judged like any metric: Frictionlog declares ``infra_hours_pulse`` itself (fewer
hours is better, hours, ratio scale), so its measurements — produced by the pulse's own path,
``compute.weekly`` → ``measurement_events`` — reach the estimator, the criteria, the digest and the
scorecard's productivity tile with no user step, and nobody can re-declare it the wrong way round."""

from __future__ import annotations

import random
from datetime import timedelta
from html import escape
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient

from service.core.db import session_scope
from service.core.settings import Settings
from service.criteria.metrics import DECLARED
from service.digest import scoped
from service.digest.build import digest_input
from service.digest.models import DigestContent
from service.figures.pulse import compute, service
from tests.test_digest import FIRST, MOVERS, STAYERS, WEEK, WEEKS, before_after, digest, story


def _pulse(client: TestClient, headers: dict[str, str], moves: dict[str, int | None], *, asked_on_new: int = 5) -> None:
    """Five engineers per service asked each week (``asked_on_new`` once moved), four answering: mostly
    4–8 h on the old platform, mostly <1 h on the new (the buckets' midpoints: 6 h → 0.5 h)."""
    rng = random.Random(5)
    asked, answers = [], []
    windows = {}
    for week in range(WEEKS):
        label = f"2026-W{32 + week}"
        windows[label] = (FIRST + timedelta(weeks=week), FIRST + timedelta(weeks=week + 1))
        for svc, moved in moves.items():
            on_new = moved is not None and week >= moved
            asked += [(label, svc)] * (asked_on_new if on_new else 5)
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


def _shown_everywhere(client: TestClient, headers: dict[str, str], settings: Settings, label: str) -> list[bool]:
    """Whether ``label`` is in the digest's JSON migration section, its HTML page, the app's digest page and
    the Slack blocks."""
    from service.digest.html import render_html
    from service.digest.models import DigestContent
    from tests.helpers import get_ready
    from tests.test_renderers_agree import _slack_text

    content = digest(client, headers, settings)
    typed = DigestContent.model_validate(content)
    listed = [item["label"] for item in content["migration"]["before_after"]]
    tiles = [m["label"] for t in content["scorecard"]["tiles"] for m in [t, *t["others"]]]
    return [
        label in listed or label in tiles,
        escape(label) in render_html(typed),
        escape(label) in get_ready(client, f"/digests/{WEEK}").text,
        label in _slack_text(typed),
    ]


def _signed_in_story(client: TestClient, headers: dict[str, str], settings: Settings) -> str:
    from tests.factories import issue_token
    from tests.test_web import sign_in

    assert sign_in(client, issue_token(settings, "leader", ["read"]), f"/digests/{WEEK}").status_code == 303
    story(client, headers, moves={**MOVERS, **STAYERS}, before=2, after=6, noise=0.6)
    assert DECLARED[0].name == compute.METRIC
    return DECLARED[0].label


def test_a_declared_metric_nobody_measures_is_not_listed_anywhere(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    label = _signed_in_story(client, admin_headers, settings)
    # the pulse never turned on (only its response rate measured): no line for it anywhere, though declared
    table = compute.weekly(
        pd.DataFrame([("2026-W40", "svc-0")] * 3, columns=["week", "service"]),
        pd.DataFrame([], columns=["week", "service", "bucket"]),
    )
    windows = {"2026-W40": (FIRST + timedelta(weeks=8), FIRST + timedelta(weeks=9))}
    events = service.measurement_events(table, windows)
    assert {e["metric"] for e in events} == {compute.RATE_METRIC, compute.RESPONSES_METRIC}
    assert client.post("/webhooks/generic", json=events, headers=admin_headers).status_code == 202
    assert _shown_everywhere(client, admin_headers, settings, label) == [False] * 4


def test_a_declared_metric_with_too_little_data_says_not_enough_data_everywhere(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    label = _signed_in_story(client, admin_headers, settings)
    # one service answered one week: some data, too little to judge — listed, saying so
    table = compute.weekly(
        pd.DataFrame([("2026-W40", "svc-0")] * 3, columns=["week", "service"]),
        pd.DataFrame([("2026-W40", "svc-0", "1to4")], columns=["week", "service", "bucket"]),
    )
    windows = {"2026-W40": (FIRST + timedelta(weeks=8), FIRST + timedelta(weeks=9))}
    events = service.measurement_events(table, windows)
    assert client.post("/webhooks/generic", json=events, headers=admin_headers).status_code == 202
    assert _shown_everywhere(client, admin_headers, settings, label) == [True] * 4
    item = before_after(digest(client, admin_headers, settings), compute.METRIC)
    assert item["verdict"] == "not_enough_data"


def test_weeks_of_low_response_do_not_count_and_the_claim_says_so(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    moves = {**MOVERS, **STAYERS}
    story(client, admin_headers, moves=moves, before=2, after=6, noise=0.6)
    _pulse(client, admin_headers, moves, asked_on_new=20)  # after each move: 4 of 20 answer (20 %)
    assert compute.MIN_RESPONSE_RATE > 4 / 20

    content = digest(client, admin_headers, settings)
    item = before_after(content, compute.METRIC)
    assert item["verdict"] == "not_enough_data"  # every week after a move is low response: nothing to judge
    assert "low response (20 %)" in item["sentence"]
    (tile,) = [t for t in content["scorecard"]["tiles"] if t["key"] == "productivity"]
    shown = [m["sentence"] for m in [tile, *tile["others"]] if m["metric"] == compute.METRIC]
    assert shown
    assert "low response (20 %)" in shown[0]


def test_the_scorecard_scoped_to_some_services_says_so_too(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    moves = {**MOVERS, **STAYERS}
    story(client, admin_headers, moves=moves, before=2, after=6, noise=0.6)
    _pulse(client, admin_headers, moves, asked_on_new=20)
    whole = DigestContent.model_validate(digest(client, admin_headers, settings)).migration
    assert whole is not None
    with session_scope(settings.database_url) as session:
        data = digest_input(session, settings, week=WEEK, audience="leaders")

    card = scoped.scoped_scorecard(data, whole, chosen=set(MOVERS), first=None, cost=None)

    (tile,) = [t for t in card.tiles if t.key == "productivity"]
    shown = [tile.sentence] if tile.metric == compute.METRIC else []
    shown += [m.sentence for m in tile.others if m.metric == compute.METRIC]
    assert shown
    assert "low response (20 %)" in shown[0]


def test_low_response_is_judged_by_rate_and_by_responders() -> None:
    start = pd.Timestamp("2026-10-05", tz="UTC")
    rows = []
    for svc, rate, responders in (("a", 0.8, 4), ("b", 0.2, 4), ("c", 1.0, 2), ("d", 0.5, None)):
        rows.append((svc, compute.METRIC, 3.0, start))
        rows.append((svc, compute.RATE_METRIC, rate, start))
        if responders is not None:
            rows.append((svc, compute.RESPONSES_METRIC, float(responders), start))
    frame = pd.DataFrame(rows, columns=["service", "metric", "value", "period_start"])
    assert sorted(compute.low_response(frame)["service"]) == ["b", "c"]
    kept = compute.counted(frame)
    assert sorted(kept.loc[kept["metric"] == compute.METRIC, "service"]) == ["a", "d"]
    assert len(kept) == len(frame) - 2  # only the two means are left out; rates and counts stay
    assert compute.response_note(frame) == "low response (60 %) in 2 of 4 service-weeks, not counted"
