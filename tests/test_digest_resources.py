"""End to end through the real API, inbox and workers: costs, GPU hours, cold starts, features, support
tickets and classified incidents sent on the generic form reach the digest's JSON as effects
(``compute_cost``, ``gpu_utilisation``, ``cold_start_p95``, ``time_to_ship``, ``support_tickets``,
``infra_incidents``, ``app_incidents``) and as the week's cost, productivity and incident figures."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from service.core.settings import Settings
from service.digest.html import render_html
from service.digest.models import DigestContent
from service.digest.render import plain_text
from tests.factories import iso, make_deployment, make_incident
from tests.test_digest import FIRST, MOVERS, STAYERS, WEEKS, before_after, digest, story

KEYS = ("compute_cost", "gpu_utilisation", "cold_start_p95", "time_to_ship", "support_tickets", "infra_incidents")


def _resources(client: TestClient, headers: dict[str, str], moves: dict[str, int | None]) -> None:
    """Per service and week: a compute bill (+12 % on the new platform), 100 GPU hours provisioned (25 used
    on legacy, 50 on new), a cold start, a feature shipped (20 days on legacy, 5 on new), a support ticket
    and infrastructure / application incidents (infrastructure ones a third as often on new)."""
    rng = random.Random(3)
    events: list[dict[str, Any]] = []
    for service, moved in moves.items():
        level = rng.uniform(800, 1200)
        for week in range(WEEKS):
            on_new = moved is not None and week >= moved
            monday = FIRST + timedelta(weeks=week)
            period = {"period_start": iso(monday), "period_end": iso(monday + timedelta(weeks=1))}
            tag = f"{service}-{week}"
            events += [
                {
                    "type": "cost",
                    "id": f"bill-{tag}",
                    "service": service,
                    "amount": round(level * (1.12 if on_new else 1.0) * rng.uniform(0.97, 1.03), 2),
                    "currency": "USD",
                    "category": "compute",
                    **period,
                },
                {"type": "measurement", "id": f"prov-{tag}", "service": service, "metric": "gpu_hours_provisioned"}
                | {"value": 100, **period},
                {"type": "measurement", "id": f"used-{tag}", "service": service, "metric": "gpu_hours_used"}
                | {"value": round((50 if on_new else 25) * rng.uniform(0.9, 1.1), 1), **period},
                {"type": "measurement", "id": f"cold-{tag}", "service": service, "metric": "cold_start_seconds"}
                | {
                    "value": round((6 if on_new else 14) * rng.uniform(0.9, 1.1), 1),
                    "at": iso(monday + timedelta(days=1)),
                },
                {
                    "type": "work_item",
                    "id": f"SUP-{tag}",
                    "kind": "support",
                    "status": "open",
                    "service": service,
                    "changed_at": iso(monday + timedelta(days=1)),
                    "created_at": iso(monday + timedelta(days=1)),
                },
            ]
            shipped = monday + timedelta(days=3, hours=12)
            started = shipped - timedelta(days=5 if on_new else 20)
            events += [
                {
                    "type": "work_item",
                    "id": f"FEAT-{tag}",
                    "kind": "feature",
                    "status": "in_progress",
                    "service": service,
                    "changed_at": iso(started),
                },
                make_deployment(f"ship-{tag}", service=service, finished_at=shipped, work_items=[f"FEAT-{tag}"]),
            ]
            infra = (1 if week % 3 == 0 else 0) if on_new else 1
            for n in range(infra):
                start = monday + timedelta(days=4, hours=n)
                events.append(
                    make_incident(f"infra-{tag}-{n}", service=service, started_at=start, category="infrastructure")
                )
            if week % 2 == 0:
                events.append(
                    make_incident(
                        f"app-{tag}", service=service, started_at=monday + timedelta(days=5), category="application"
                    )
                )
    for offset in range(0, len(events), 500):
        response = client.post("/webhooks/generic", json=events[offset : offset + 500], headers=headers)
        assert response.status_code == 202, response.text


def resource_story(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    """The DORA story (MOVERS move, STAYERS stay) with its resource and work events: the migration it describes."""
    moves = {**MOVERS, **STAYERS}
    story(client, headers, moves=moves, before=2, after=6, noise=0.6)
    _resources(client, headers, moves)
    (migration,) = client.get("/api/v1/migrations", headers=headers).json()
    assert isinstance(migration, dict)
    return migration


def assert_effects(content: dict[str, Any]) -> None:
    """Every resource and work metric judged by the estimator, each finding what the story built in."""
    items = {item["metric"]: item for item in content["migration"]["before_after"]}
    assert set(KEYS) | {"app_incidents"} <= set(items)
    for key in KEYS:
        assert items[key]["method"] == "staggered_did", key
        assert items[key]["sentence"]
    cost = before_after(content, "compute_cost")
    assert cost["verdict"] == "changed"
    assert cost["low"] <= 0.12 <= cost["high"]  # the truth: +12 %
    gpu = before_after(content, "gpu_utilisation")
    assert gpu["verdict"] == "changed"
    assert gpu["low"] <= 1.0 <= gpu["high"]  # twice the utilisation
    assert before_after(content, "time_to_ship")["high"] < 0  # shipping faster
    assert before_after(content, "app_incidents")["verdict"] != "changed"  # nothing happened to them
    assert any(s.startswith("Compute cost +") or "compute cost +" in s for s in content["verdict"])


def assert_criteria(content: dict[str, Any]) -> None:
    judged = {c["metric"]: c for c in content["migration"]["criteria"]}
    assert judged["compute_cost"]["goal"] == "Compute cost per service-week at most +15%"
    assert judged["compute_cost"]["status"] == "met"  # +12 %, the whole interval under +15 %
    assert judged["gpu_utilisation"]["goal"] == "GPU utilisation at least 40 %"
    assert judged["gpu_utilisation"]["status"] == "met"  # ~50 % after the move
    assert judged["time_to_ship"]["status"] == "met"  # 20 → 5 days: −75 %


def assert_week_parts(content: dict[str, Any], currency: str, services: int) -> None:
    """This week's cost, productivity and incident-category parts."""
    figures = content["cost"]
    assert figures["currency"] == currency
    assert 0.33 < figures["this_week"]["gpu_utilisation"] < 0.42  # (6 × 50 + 6 × 25) ÷ 1,200 hours, ±10 %
    platforms = {p["platform"] for p in figures["by_platform"] if p["this_week"]}
    assert platforms == {"legacy", "new"}
    assert figures["hybrid"] is True
    assert "Hybrid period: 2 platforms ran at once" in figures["sentence"]
    productivity = content["productivity"]
    assert productivity["support_tickets"] == services  # one a service this week
    assert productivity["features_shipped"] == services
    categories = content["incident_categories"]
    assert categories["total"] == categories["infrastructure"] + categories["application"] + categories["unknown"]
    assert categories["infrastructure"] >= 1


def test_cost_utilisation_and_work_metrics_reach_the_digest_through_the_real_api(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    migration = resource_story(client, admin_headers)
    criteria = [
        {"metric": "compute_cost", "direction": "at_most", "target": 0.15},
        {"metric": "gpu_utilisation", "direction": "at_least", "kind": "absolute", "target": 40},
        {"metric": "time_to_ship", "direction": "at_most", "target": -0.5},
    ]
    patched = client.patch(f"/api/v1/migrations/{migration['id']}", json={"criteria": criteria}, headers=admin_headers)
    assert patched.status_code == 200, patched.text

    content = digest(client, admin_headers, settings)

    assert_effects(content)
    assert_criteria(content)
    assert_week_parts(content, settings.reporting_currency, len(MOVERS) + len(STAYERS))
    typed = DigestContent.model_validate(content)
    page, text = render_html(typed), plain_text(typed)
    for shown in ("Cost and utilisation", "Engineering productivity", "Infrastructure-related incidents"):
        assert shown in page
    assert "Cost per platform this week: legacy" in text


def test_a_week_with_costs_but_no_deploys_or_incidents_still_shows_its_cost(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    """A "quiet" week is about deployments, incidents and reports: a week that had none but was billed says
    so, and its cost part is there (it was dropped with the rest of an empty week's sections)."""
    events = []
    for week in range(WEEKS):
        monday = FIRST + timedelta(weeks=week)
        period = {"period_start": iso(monday), "period_end": iso(monday + timedelta(weeks=1))}
        events.append(
            {"type": "cost", "id": f"bill-{week}", "service": "ml-api", "amount": 100.0 + week}
            | {"currency": "USD", "category": "compute", **period}
        )
    response = client.post("/webhooks/generic", json=events, headers=admin_headers)
    assert response.status_code == 202, response.text

    content = digest(client, admin_headers, settings)

    assert content["empty"] is True
    assert content["cost"] is not None
    assert content["cost"]["this_week"]["compute_cost"] == 100.0 + WEEKS - 1
    typed = DigestContent.model_validate(content)
    assert not typed.short
    assert "Compute cost" in render_html(typed)
    assert "Compute cost" in plain_text(typed)
