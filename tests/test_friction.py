"""Friction reports: filed over the API, categorised with evidence by a worker, private when anonymous."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.core.errors import InvalidInput
from service.core.models import FrictionReport, InboxEvent
from service.core.settings import Settings
from service.figures.friction.categorise import OTHER, categorise, load_taxonomy, parse_taxonomy
from service.ingest import inbox
from workers.process import drain

URL = "/api/v1/friction"


def test_a_report_gets_its_number_at_once_and_a_category_with_evidence(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    client.put(
        "/api/v1/services/ml-api",
        json={"team": "growth", "platforms": [{"platform": "new", "effective_from": "2025-01-01T00:00:00Z"}]},
        headers=admin_headers,
    )
    body = {"text": "Cold starts take 40 s on ml-api", "service": "ml-api", "reporter": "U024BE7LH", "impact": 4}

    response = client.post(URL, json=body, headers=admin_headers)
    drain(settings)

    assert response.status_code == 202
    number = response.json()["id"]
    report = session.get(FrictionReport, number)
    assert report is not None
    assert (report.category, report.category_source) == ("cold_start_latency", "rule")
    assert (report.reporter, report.contact) == (None, "U024BE7LH")  # a claim of the token holder: a contact
    assert "cold start" in report.evidence
    assert report.confidence > 0.5
    assert (report.platform, report.impact, report.status) == ("new", 4, "open")


def test_an_anonymous_report_stores_no_identity_anywhere(
    client: TestClient, ingest_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    body = {"text": "GPU quota request took 3 days", "reporter": "U024BE7LH", "anonymous": True}

    number = client.post(URL, json=body, headers=ingest_headers).json()["id"]
    drain(settings)

    report = session.get(FrictionReport, number)
    assert report is not None
    assert report.reporter is None
    assert report.category == "gpu_compute_capacity"
    stored = session.get(InboxEvent, number)
    assert stored is not None
    assert "U024BE7LH" not in stored.body
    assert "U024BE7LH" not in json.dumps(stored.headers)


def test_a_resent_report_is_one_report(client: TestClient, ingest_headers: dict[str, str]) -> None:
    body = {"text": "Deploys need three manual approvals", "delivery_id": "form-77"}

    first = client.post(URL, json=body, headers=ingest_headers)
    again = client.post(URL, json=body, headers=ingest_headers)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {"id": first.json()["id"], "duplicate": True}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "no"}, "text"),
        ({}, "text"),
        ({"text": "slow builds", "impact": 7}, "impact"),
        ({"text": "slow builds", "frequency": "hourly"}, "frequency"),
        ({"text": "slow builds", "minutes_lost": -5}, "minutes_lost"),
        ({"text": "slow builds", "occurred_at": "soon"}, "occurred_at"),
    ],
)
def test_bad_reports_are_422_naming_the_field(
    client: TestClient, ingest_headers: dict[str, str], body: dict[str, object], field: str
) -> None:
    response = client.post(URL, json=body, headers=ingest_headers)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_a_leads_correction_survives_a_rebuild(
    client: TestClient, ingest_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    number = client.post(URL, json={"text": "the helm values file is 600 lines"}, headers=ingest_headers).json()["id"]
    drain(settings)
    report = session.get(FrictionReport, number)
    assert report is not None
    report.category, report.category_source, report.status = "deploy_release", "human", "acknowledged"
    session.commit()

    inbox.requeue(session, statuses=["processed"])
    drain(settings)

    session.rollback()  # end the read snapshot (SQLite WAL keeps one per transaction)
    again = session.get(FrictionReport, number)
    assert again is not None
    assert (again.category, again.category_source, again.status) == ("deploy_release", "human", "acknowledged")


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("cold starts take 40 s on ml-api", "cold_start_latency"),
        ("GPU quota request took 3 days", "gpu_compute_capacity"),
        ("Flaky integration tests block the merge queue", "build_ci"),
        ("waiting on the platform team for a DNS ticket", "dependencies_cross_team"),
        ("I can't find any docs on the new ingress", "docs_knowledge"),
        ("the coffee machine is broken", OTHER),
    ],
)
def test_the_categoriser_on_plain_reports(text: str, category: str) -> None:
    assert categorise(text, load_taxonomy()).category == category


def test_a_weak_match_is_other_with_low_confidence_not_a_guess() -> None:
    verdict = categorise("things feel slow today", load_taxonomy())

    assert verdict.category == OTHER
    assert verdict.confidence < 0.5
    assert verdict.evidence == ("slow",)


def test_the_taxonomy_is_data_a_deployment_can_replace() -> None:
    taxonomy = parse_taxonomy(
        'threshold: 1\ncategories:\n  - id: coffee\n    title: Coffee\n    terms: {"coffee*": 2, espresso: 3}\n'
    )

    verdict = categorise("The coffee machine is broken again", taxonomy)

    assert (verdict.category, verdict.evidence) == ("coffee", ("coffee",))
    assert taxonomy.ids() == ["coffee", OTHER]


@pytest.mark.parametrize(
    "text",
    ["categories: nope", "- a list", "categories:\n  - {id: other, terms: {x: 1}}", "categories:\n  - {id: a}"],
)
def test_a_broken_taxonomy_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_taxonomy(text)


def test_the_shipped_taxonomy_covers_the_design() -> None:
    expected = {
        "build_ci",
        "deploy_release",
        "cold_start_latency",
        "gpu_compute_capacity",
        "config_complexity",
        "cost",
        "data_pipeline",
        "access_security_compliance",
        "observability_debugging",
        "incident_oncall",
        "docs_knowledge",
        "platform_migration",
        "dependencies_cross_team",
        OTHER,
    }
    assert set(load_taxonomy().ids()) == expected
