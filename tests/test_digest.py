"""The weekly digest: the statements it makes from fixed stories, its outputs, and posting exactly once."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from slack_sdk.models.blocks import Block

from integrations.slack.client import sync_client
from integrations.slack.digest_blocks import digest_blocks
from integrations.slack.notifier import WebClientNotifier
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.weeks import last_full_week
from service.digest.models import DigestContent
from tests.factories import iso, make_deployment, make_incident
from tests.helpers import get_ready, make_settings
from tests.slack_fake import fake_slack
from workers.digest import run_digests
from workers.process import drain

WEEK = "2026-W44"  # Monday 2026-10-26 to Monday 2026-11-02 (UTC)
FIRST = datetime(2026, 8, 3, tzinfo=UTC)  # Monday of 2026-W32
WEEKS = 13  # W32 … W44


def story(
    client: TestClient,
    headers: dict[str, str],
    *,
    moves: dict[str, int | None],
    before: float,
    after: float,
    incidents_before: float = 0.0,
    incidents_after: float = 0.0,
    noise: float = 0.0,
    trend: float = 0.0,
    seed: int = 1,
) -> None:
    """Services deploying ``before`` times a week on legacy and ``after`` on new (moved in week index
    ``moves[service]``, or never), plus ``trend`` more each week (the calendar), with optional noise; a
    migration that started in week 2."""
    rng = random.Random(seed)
    migration = {
        "name": "to-new",
        "from_platform": "legacy",
        "to_platform": "new",
        "started_at": iso(FIRST + timedelta(weeks=2)),
        "baseline_weeks": 2,
    }
    assert client.post("/api/v1/migrations", json=migration, headers=headers).status_code == 201
    events: list[dict[str, Any]] = []
    for service, moved in moves.items():
        history = [{"platform": "legacy", "effective_from": "2025-01-01T00:00:00Z"}]
        if moved is not None:
            history.append({"platform": "new", "effective_from": iso(FIRST + timedelta(weeks=moved))})
        team = "payments" if service.startswith("pay") else "core"
        assert client.put(
            f"/api/v1/services/{service}", json={"team": team, "platforms": history}, headers=headers
        ).is_success
        for week in range(WEEKS):
            on_new = moved is not None and week >= moved
            rate = (after if on_new else before) + trend * week
            count = max(0, round(rate + rng.uniform(-noise, noise)))
            for n in range(count):
                finished = FIRST + timedelta(weeks=week, days=n % 5, hours=9 + n)
                events.append(make_deployment(f"{service}-{week}-{n}", service=service, finished_at=finished))
            incident_rate = incidents_after if on_new else incidents_before
            for n in range(round(incident_rate)):
                start = FIRST + timedelta(weeks=week, days=2, hours=10 + n)
                events.append(
                    make_incident(
                        f"{service}-i-{week}-{n}",
                        service=service,
                        status="resolved",
                        started_at=start,
                        resolved_at=start + timedelta(hours=1),
                    )
                )
    for offset in range(0, len(events), 500):
        assert client.post("/webhooks/generic", json=events[offset : offset + 500], headers=headers).status_code == 202


def digest(
    client: TestClient, headers: dict[str, str], settings: Settings, audience: str = "leaders"
) -> dict[str, Any]:
    drain(settings)
    response = client.get(f"/api/v1/digests/{WEEK}", params={"audience": audience}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def before_after(content: dict[str, Any], metric: str) -> dict[str, Any]:
    return next(item for item in content["migration"]["before_after"] if item["metric"] == metric)


MOVERS = {f"svc-{i}": 5 + i % 3 for i in range(6)}
STAYERS: dict[str, int | None] = {f"old-{i}": None for i in range(6)}


def test_a_real_effect_is_claimed_as_the_migrations_with_its_interval_and_opens_the_digest(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    story(client, admin_headers, moves={**MOVERS, **STAYERS}, before=2, after=6, noise=0.6)

    content = digest(client, admin_headers, settings)

    deploys = before_after(content, "deploys")
    assert deploys["method"] == "staggered_did"
    assert deploys["verdict"] == "changed"
    assert deploys["low"] <= 2.0 <= deploys["high"]  # the truth: three times as many deploys, +200 %
    assert (deploys["services"], deploys["controls"]) == (6, 10)  # 4 later movers + 6 never movers compared
    assert deploys["pre_trend"]["status"] == "parallel"
    assert "caused by the migration rather than the calendar" in deploys["sentence"]
    assert [point["week"] for point in deploys["event_study"]] == list(range(-8, 9))
    assert {row["service"] for row in deploys["per_service"]} == set(MOVERS)
    assert all(row["relative"] > 1 for row in deploys["per_service"])
    assert content["verdict"][0].startswith("Deploys per week rose to 6.")
    assert "caused by the migration rather than the calendar" in content["verdict"][0]


def test_a_calendar_trend_is_not_claimed_as_the_migrations(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    """The issue's skeptical leader: every service deploys more as the weeks go by (a CI speed-up), the move
    changes nothing. A before/after of the moved services rises; the effect does not."""
    story(client, admin_headers, moves={**MOVERS, **STAYERS}, before=2, after=2, trend=0.35, noise=0.5, seed=4)

    deploys = before_after(digest(client, admin_headers, settings), "deploys")

    own = [row["relative"] for row in deploys["per_service"]]
    assert sum(own) / len(own) > 0.3  # each moved service against itself: a big "improvement"
    assert deploys["verdict"] == "no_clear_change"
    assert deploys["low"] < 0 < deploys["high"]
    assert deploys["sentence"].startswith("Deploys per week: no clear change (90 % interval")
    assert "the data could only show a change of about" in deploys["sentence"]


def test_one_migrated_service_is_not_enough_data(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    story(client, admin_headers, moves={"svc-0": 5, "svc-1": None, "svc-2": None}, before=2, after=8)

    content = digest(client, admin_headers, settings)

    deploys = before_after(content, "deploys")
    assert deploys["verdict"] == "not_enough_data"
    assert deploys["sentence"] == (
        "Deploys per week: not enough data yet (1 moved service with 2+ weeks of data before the move and some "
        "after; 3 needed)."
    )
    assert content["migration"]["services_migrated"] == 1
    assert "not enough data yet on deploys per week" in content["verdict"][-1].lower()


def test_everything_moving_in_one_week_is_a_labelled_before_after(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    story(client, admin_headers, moves={f"svc-{i}": 5 for i in range(4)}, before=2, after=5, incidents_after=1)

    content = digest(client, admin_headers, settings)

    deploys = before_after(content, "deploys")
    assert deploys["method"] == "before_after"
    assert deploys["controls"] == 0
    assert deploys["sentence"].endswith("no comparison group; this is a before/after, not an effect.")
    incidents = before_after(content, "incidents")
    assert incidents["verdict"] == "not_enough_data"
    assert incidents["sentence"] == (
        "Incidents per week: none before the move to compare with (1.0 after), so no percentage."
    )
    assert content["verdict"][0].startswith("Every service moved in the same week")


def test_a_noisy_small_sample_gives_no_percentage(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    story(client, admin_headers, moves={"svc-0": 4, "svc-1": 6}, before=1, after=9, incidents_before=3, noise=3, seed=3)

    content = digest(client, admin_headers, settings)

    for item in content["migration"]["before_after"]:
        assert item["verdict"] == "not_enough_data"
        assert "%" not in item["sentence"]


def test_success_criteria_are_judged_and_goalposts_moved_after_the_start_are_shown(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    story(client, admin_headers, moves={**MOVERS, **STAYERS}, before=2, after=6, noise=0.6)
    migration = client.get("/api/v1/migrations", headers=admin_headers).json()[0]
    criteria = [
        {"metric": "deploys", "direction": "at_least", "target": 0.5},
        {"metric": "deploys_typo", "direction": "at_least", "target": 0.5},
    ]
    refused = client.patch(f"/api/v1/migrations/{migration['id']}", json={"criteria": criteria}, headers=admin_headers)
    assert refused.status_code == 422
    criteria = [
        {"metric": "deploys", "direction": "at_least", "target": 0.5},
        {"metric": "lead_time", "direction": "at_most", "target": -0.3},
    ]
    patch = {"criteria": criteria, "target_date": iso(FIRST + timedelta(weeks=30))}
    assert client.patch(f"/api/v1/migrations/{migration['id']}", json=patch, headers=admin_headers).status_code == 200

    content = digest(client, admin_headers, settings)

    part = content["migration"]
    statuses = {c["metric"]: c["status"] for c in part["criteria"]}
    assert statuses == {"deploys": "met", "lead_time": "not_enough_data"}  # no commits sent: no lead time
    assert part["criteria"][0]["deadline"].startswith("2027-03-01")  # the migration's target date
    notes = [c["sentence"] for c in part["criteria_changes"]]  # all made after the start
    assert notes[0].startswith("Deploys per week, Lead time: set on ")  # metrics by their labels
    assert notes[0].endswith("by admin, after the migration had started — not set in advance.")
    assert notes[1].startswith("Migration: target date not set → 2027-03-01 — by admin on ")
    assert [c["subject"] for c in part["criteria_changes"]] == ["deploys, lead_time", "migration"]  # keys, for machines
    assert content["verdict"][-1].startswith("1 of 2 success criteria met, 1 not enough data (changed after the start")
    assert "services moved" in part["schedule"]


def test_an_unfinished_week_is_the_week_so_far_and_never_enters_the_effects(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    from service.core.db import session_scope
    from service.digest.build import build

    story(client, admin_headers, moves={**MOVERS, **STAYERS}, before=2, after=6, noise=0.6)
    drain(settings)
    wednesday = datetime(2026, 10, 28, 12, tzinfo=UTC)  # inside WEEK
    with session_scope(settings.database_url) as session:
        partial = build(session, settings, week=WEEK, audience="leaders", now=wednesday).as_json()
        whole = build(session, settings, week=WEEK, audience="leaders", now=wednesday + timedelta(weeks=1)).as_json()

    assert partial["partial"] is True
    assert partial["week_label"] == f"{WEEK} (week so far)"
    assert partial["summary"].startswith("Week so far:")
    assert whole["partial"] is False
    last_week = max(p["week"] for p in before_after(partial, "deploys")["event_study"] if p["relative"] is not None)
    last_whole = max(p["week"] for p in before_after(whole, "deploys")["event_study"] if p["relative"] is not None)
    assert last_whole == last_week + 1


def test_colours_judge_the_baseline_and_both_comparisons_are_shown(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    story(client, admin_headers, moves={**MOVERS, **STAYERS}, before=2, after=6, noise=0.6)

    content = digest(client, admin_headers, settings)

    frequency = next(row for row in content["headline"] if row["key"] == "deploys")
    assert frequency["colour_by"] == "baseline"
    assert frequency["vs_baseline"] is True  # far above the 12 a week before the start
    assert frequency["baseline"] == pytest.approx(24.0, abs=4)  # 12 services × 2 a week
    assert "vs_four_weeks" in frequency
    assert content["warnings"][0]["code"] == "deployments_without_commits"


def test_a_week_that_has_not_started_has_no_digest(client: TestClient, admin_headers: dict[str, str]) -> None:
    future = client.get("/api/v1/digests/2030-W01", headers=admin_headers)
    assert future.status_code == 422, future.text
    assert future.json()["error"]["field"] == "week"
    assert "has not started" in future.json()["error"]["message"]
    current = client.get(f"/api/v1/digests/{last_full_week(utcnow(), 'UTC')}", headers=admin_headers)
    assert current.status_code == 200


def test_an_empty_week_is_a_short_plain_digest(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    content = digest(client, admin_headers, settings)

    assert content["empty"] is True
    assert content["summary"] == "A quiet week: no deployments, incidents or friction reports were recorded."
    text, blocks = digest_blocks(DigestContent.model_validate(content))
    assert len(blocks) == 2
    assert text.endswith(content["summary"])
    for block in blocks:
        assert Block.parse(block) is not None


def test_friction_quotes_only_from_teams_with_enough_reporters(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    for service, team in (("ml-api", "growth"), ("ledger", "payments")):
        client.put(f"/api/v1/services/{service}", json={"team": team}, headers=admin_headers)
    filed = datetime(2026, 10, 28, 10, tzinfo=UTC)
    reports = [("ml-api", f"U{i}", f"cold starts take {30 + i} s on ml-api") for i in range(3)]
    reports += [("ledger", f"P{i}", f"GPU quota for the ledger model took {i + 2} days") for i in range(2)]
    for service, reporter, text in reports:
        body = {"text": text, "service": service, "reporter": reporter, "minutes_lost": 30, "occurred_at": iso(filed)}
        assert client.post("/api/v1/friction", json=body, headers=admin_headers).status_code == 202

    friction = digest(client, admin_headers, settings)["friction"]

    assert friction["new"] == 5
    assert friction["hours_lost"] == 2.5
    assert len(friction["quotes"]) == 2
    assert all("ml-api" in quote for quote in friction["quotes"])  # the two-person team is never quoted
    assert friction["top_categories"][0] == {
        "category": "cold_start_latency",
        "title": "Cold starts and latency",
        "reports": 3,
        "last_week": 0,
    }


def test_you_said_we_did_lists_the_weeks_resolutions(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    from service.core.db import session_scope
    from service.core.models import FrictionReport

    number = client.post(
        "/api/v1/friction",
        json={"text": "GPU quota took 3 days", "occurred_at": "2026-10-20T10:00:00Z"},
        headers=admin_headers,
    ).json()["id"]
    drain(settings)
    with session_scope(settings.database_url, write=True) as session:
        report = session.get(FrictionReport, number)
        assert report is not None
        report.status, report.resolution_note = "resolved", "Quota is self-serve now"
        report.resolved_at = datetime(2026, 10, 29, 12, tzinfo=UTC)
        session.commit()

    said = digest(client, admin_headers, settings)["friction"]["you_said_we_did"]

    assert said == [{"id": number, "text": "GPU quota took 3 days", "note": "Quota is self-serve now"}]


def test_slack_blocks_are_valid_block_kit_within_limits(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    story(client, admin_headers, moves={f"svc-{i}": 3 + i % 3 for i in range(6)}, before=2, after=6, noise=0.5)

    text, blocks = digest_blocks(DigestContent.model_validate(digest(client, admin_headers, settings)))

    assert 0 < len(blocks) <= 50
    assert len(text) <= 3000
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
        for field in ("text",):
            if field in block and isinstance(block[field], dict):
                assert len(block[field]["text"]) <= 3000


def test_team_audiences_see_only_their_team(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    story(client, admin_headers, moves={"pay-1": 4, "pay-2": 4, "core-1": None}, before=2, after=4)

    leaders = digest(client, admin_headers, settings)
    payments = digest(client, admin_headers, settings, audience="team:payments")

    assert leaders["migration"]["services_total"] == 3
    assert payments["migration"]["services_total"] == 2
    assert (
        client.get(f"/api/v1/digests/{WEEK}", params={"audience": "everyone"}, headers=admin_headers).status_code == 422
    )


def test_the_scheduled_run_posts_once_per_audience_however_often_it_runs(database_url: str, tmp_path: Path) -> None:
    with fake_slack() as slack:
        settings = make_settings(
            database_url,
            tmp_path,
            slack_bot_token="xoxb-test",
            slack_api_url=slack.url,
            digest_audiences={"leaders": "CLEADERS", "team:payments": "CPAYMENTS", "team:core": ""},
        )
        notifier = WebClientNotifier(sync_client(settings))
        first = run_digests(settings, notifier, week=WEEK)
        again = run_digests(settings, notifier, week=WEEK)
        racing = [
            threading.Thread(target=run_digests, args=(settings, notifier), kwargs={"week": WEEK}) for _ in range(2)
        ]
        for thread in racing:
            thread.start()
        for thread in racing:
            thread.join()

        posts = slack.of("chat.postMessage")
    assert (first.built, first.posted, again.posted, again.already_posted) == (3, 2, 0, 2)
    assert sorted(post["channel"] for post in posts) == ["CLEADERS", "CPAYMENTS"]


def test_the_html_page_needs_a_read_token_in_the_header_not_the_url(client: TestClient, settings: Settings) -> None:
    from tests.factories import issue_token

    token = issue_token(settings, "browser", ["read"])

    assert (
        client.get(f"/digests/{WEEK}/html", headers={"Accept": "text/html"}, follow_redirects=False).status_code == 303
    )
    retired = client.get(f"/digests/{WEEK}/html", params={"token": token}, follow_redirects=False)
    assert retired.status_code == 303  # ?token= links are retired: the way in is the sign-in page
    assert retired.headers["location"].startswith("/signin?next=")
    page = get_ready(client, f"/digests/{WEEK}/html", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<svg" not in page.text  # an empty week has no charts, only its one line
    assert "A quiet week" in page.text


def test_a_rising_theme_shows_its_own_example_and_other_quotes_stand_apart(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    client.put("/api/v1/services/ml-api", json={"team": "growth"}, headers=admin_headers)
    filed = datetime(2026, 10, 28, 10, tzinfo=UTC)
    texts = [f"cold starts take {30 + i} s on ml-api" for i in range(3)] + ["the wiki on ingress is outdated"]
    for i, text in enumerate(texts):
        body = {
            "text": text,
            "service": "ml-api",
            "reporter": f"U{i}",
            "minutes_lost": 60 - i,
            "occurred_at": iso(filed),
        }
        assert client.post("/api/v1/friction", json=body, headers=admin_headers).status_code == 202
    content = digest(client, admin_headers, settings)
    html = get_ready(client, f"/digests/{WEEK}/html", headers=admin_headers).text
    _, blocks = digest_blocks(DigestContent.model_validate(content))

    theme = content["friction"]["rising_themes"][0]
    rising_at = html.index("Rising: Cold starts and latency")
    example_at = html.index(f"“{theme['example']}”", rising_at)
    words_at = html.index("In engineers’ words this week")
    assert rising_at < example_at < words_at  # the theme's own example sits under it …
    assert html.index("“" + content["friction"]["quotes"][0], words_at) > words_at  # … other quotes apart
    texts_in_slack = [b["text"]["text"] for b in blocks if b.get("text") and b["type"] == "section"]
    rising_block = next(t for t in texts_in_slack if t.startswith("Rising:"))
    assert f">{theme['example']}" in rising_block


def test_the_api_schema_documents_every_field_of_the_digest(client: TestClient) -> None:
    schema = client.app.openapi()  # type: ignore[attr-defined]
    response = schema["paths"]["/api/v1/digests/{week}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert response["schema"] == {"$ref": "#/components/schemas/DigestContent"}
    effect = schema["components"]["schemas"]["BeforeAfter"]["properties"]
    version_1 = {"metric", "label", "before", "after", "relative", "low", "high", "services", "verdict", "sentence"}
    assert version_1 | {"method", "controls", "pre_trend", "event_study", "per_service"} <= set(effect)
    assert {"criteria", "criteria_changes", "target_date"} <= set(
        schema["components"]["schemas"]["MigrationPart"]["properties"]
    )
