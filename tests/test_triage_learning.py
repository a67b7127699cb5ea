"""Triage by leads, the categoriser learning from their corrections, and themes of near-duplicates."""

from __future__ import annotations

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.core.models import CategoriserModel, FrictionReport
from service.core.settings import Settings
from service.figures.friction import themes
from tests.fakes import RecordingWaker
from workers.jobs import retrain
from workers.names import NOTIFY_TASK, RETRAIN_TASK
from workers.process import drain


def file(client: TestClient, headers: dict[str, str], text: str, **extra: object) -> int:
    response = client.post("/api/v1/friction", json={"text": text, **extra}, headers=headers)
    assert response.status_code == 202, response.text
    number: int = response.json()["id"]
    return number


def test_a_lead_corrects_a_category_and_the_categoriser_is_asked_to_retrain(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, waker: RecordingWaker
) -> None:
    number = file(client, admin_headers, "the helm values file is 600 lines")
    drain(settings)

    response = client.patch(f"/api/v1/friction/{number}", json={"category": "deploy_release"}, headers=admin_headers)

    assert response.status_code == 200
    body = response.json()
    assert (body["category"], body["category_source"], body["confidence"]) == ("deploy_release", "human", 1.0)
    assert RETRAIN_TASK in waker.requested
    assert NOTIFY_TASK not in waker.requested


def test_closing_a_report_filed_over_the_api_notifies_no_one(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, waker: RecordingWaker
) -> None:
    """An API reporter is a contact, not a Slack user: nobody to DM, named or anonymous (the Slack-filed
    case, which is DMed, is in tests/test_slack.py)."""
    named = file(client, admin_headers, "GPU quota took 3 days", reporter="U024BE7LH")
    anonymous = file(client, admin_headers, "GPU quota took 4 days", reporter="U999", anonymous=True)
    drain(settings)

    client.patch(
        f"/api/v1/friction/{anonymous}",
        json={"status": "resolved", "resolution_note": "Quota now self-serve"},
        headers=admin_headers,
    )
    assert NOTIFY_TASK not in waker.requested
    closed = client.patch(
        f"/api/v1/friction/{named}",
        json={"status": "resolved", "resolution_note": "Quota now self-serve"},
        headers=admin_headers,
    ).json()

    assert NOTIFY_TASK not in waker.requested
    assert (closed["reporter"], closed["contact"]) == (None, "U024BE7LH")
    assert (closed["status"], closed["resolution_note"]) == ("resolved", "Quota now self-serve")
    assert closed["resolved_at"] is not None


def test_duplicates_move_their_votes_to_the_original(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    original = file(client, admin_headers, "Cold starts take 40 s on ml-api")
    copy = file(client, admin_headers, "ml-api cold start is 40 seconds")
    drain(settings)

    response = client.patch(f"/api/v1/friction/{copy}", json={"duplicate_of": original}, headers=admin_headers)
    again = client.patch(f"/api/v1/friction/{copy}", json={"duplicate_of": original}, headers=admin_headers)

    assert response.status_code == 200
    assert again.status_code == 200
    session.rollback()
    first = session.get(FrictionReport, original)
    assert first is not None
    assert first.votes == 2  # not 3: marking twice does not vote twice
    assert (
        client.patch(f"/api/v1/friction/{copy}", json={"duplicate_of": copy}, headers=admin_headers).status_code == 422
    )
    assert (
        client.patch(f"/api/v1/friction/{original}", json={"duplicate_of": copy}, headers=admin_headers).status_code
        == 409
    )


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [({"category": "astrology"}, 422, "category"), ({"status": "done"}, 422, "status")],
)
def test_bad_triage_is_refused(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, body: dict[str, str], status: int, field: str
) -> None:
    number = file(client, admin_headers, "slow builds")
    drain(settings)

    response = client.patch(f"/api/v1/friction/{number}", json=body, headers=admin_headers)

    assert response.status_code == status
    assert response.json()["error"]["field"] == field


def test_triage_needs_admin_and_an_existing_report(
    client: TestClient, ingest_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    assert client.patch("/api/v1/friction/1", json={"status": "resolved"}, headers=ingest_headers).status_code == 403
    assert client.patch("/api/v1/friction/999", json={"status": "resolved"}, headers=admin_headers).status_code == 404


def test_after_corrections_similar_reports_are_categorised_the_corrected_way(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    """'Hermes' is this organisation's event bus: the rules cannot know it; leads teach it."""
    jargon = [
        "hermes consumer stuck again overnight",
        "hermes topic replay takes forever",
        "hermes lag alarms every evening",
        "the hermes connector dropped events",
        "hermes partitions unbalanced after restart",
    ]
    others = ["the lunch menu is confusing", "team offsite moved again"]
    numbers = [file(client, admin_headers, text) for text in [*jargon, *others]]
    drain(settings)
    before = file(client, admin_headers, "hermes backlog keeps growing")
    drain(settings)
    assert client.get(f"/api/v1/friction/{before}", headers=admin_headers).json()["category"] == "other"

    for number in numbers[: len(jargon)]:
        client.patch(f"/api/v1/friction/{number}", json={"category": "data_pipeline"}, headers=admin_headers)
    for number in numbers[len(jargon) :]:
        client.patch(f"/api/v1/friction/{number}", json={"category": "other"}, headers=admin_headers)
    version = retrain(settings)
    after = file(client, admin_headers, "hermes backlog growing since the weekend")
    drain(settings)

    assert version is not None
    assert retrain(settings) is None  # nothing new: no second version
    learned = client.get(f"/api/v1/friction/{after}", headers=admin_headers).json()
    assert (learned["category"], learned["category_source"]) == ("data_pipeline", "model")
    assert learned["evidence"][0] == "learned from 7 corrections"
    session.rollback()
    published = session.exec(select(CategoriserModel)).one()
    assert (published.samples, published.classes) == (7, ["data_pipeline", "other"])


def test_a_rebuild_recomputes_machine_categories_but_never_a_leads(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    from service.ingest import inbox

    number = file(client, admin_headers, "the coffee machine is broken")
    drain(settings)
    client.patch(f"/api/v1/friction/{number}", json={"category": "cost"}, headers=admin_headers)
    inbox.requeue(session, statuses=["processed"])
    drain(settings)

    assert client.get(f"/api/v1/friction/{number}", headers=admin_headers).json()["category"] == "cost"


def test_themes_group_near_duplicates_within_a_service_and_category() -> None:
    frame = pd.DataFrame(
        [
            (1, "Cold starts take 40 s on ml-api", "ml-api", "cold_start_latency", "U1", 1, 30),
            (2, "ml-api cold starts take 40 seconds after scale to zero", "ml-api", "cold_start_latency", "U2", 2, 60),
            (3, "cold starts on ml-api are 40 s again", "ml-api", "cold_start_latency", "U1", 1, 15),
            (4, "p99 latency doubles after deploys", "ml-api", "cold_start_latency", "U3", 1, 10),
            (5, "Cold starts take 40 s", "search-api", "cold_start_latency", "U4", 1, 5),
        ],
        columns=["id", "text", "service", "category", "reporter", "votes", "minutes_lost"],
    )

    grouped = themes.group(frame)

    top = grouped[0]
    assert (top.service, top.report_ids, top.reporters, top.votes, top.minutes_lost) == ("ml-api", [1, 2, 3], 2, 4, 105)
    assert sorted(t.report_ids for t in grouped[1:]) == [[4], [5]]


def test_themes_over_the_api(client: TestClient, admin_headers: dict[str, str], settings: Settings) -> None:
    for text in ["Cold starts take 40 s on ml-api", "ml-api cold start takes 40 s", "GPU quota took 3 days"]:
        file(client, admin_headers, text, service="ml-api")
    drain(settings)

    body = client.get("/api/v1/friction/themes", headers=admin_headers).json()

    assert [(t["category"], t["reports"]) for t in body] == [("cold_start_latency", 2), ("gpu_compute_capacity", 1)]
