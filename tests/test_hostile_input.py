"""Hostile input is stored as data, never executed or mangled, and never a 500."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from service.models import Deployment, FrictionReport, InboxEvent, Incident
from service.settings import Settings
from tests.factories import T0, make_deployment, make_incident
from workers.process import drain

NASTY = [
    "'; DROP TABLE deployment; --",
    '" OR 1=1 --',
    "x'); DELETE FROM inbox_event WHERE ('1'='1",
    "<script>alert('x')</script>",
    "Robert'); DROP TABLE friction_report;--",
    "名前 ☃ \u202e reversed",
]


def test_sql_looking_strings_in_every_text_field_are_just_text(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    for n, text in enumerate(NASTY):
        deployment = make_deployment(
            f"{text}-{n}", service=f"svc{n}", environment=text[:60], version=text[:120], repository=text[:200], url=text
        )
        incident = make_incident(
            f"i-{n}-{text}", service=f"svc{n}", started_at=T0 + timedelta(hours=n), title=text, severity=text[:30]
        )
        friction = {"text": f"{text} is slow", "service": f"svc{n}", "reporter": text[:60]}
        assert client.post("/webhooks/generic", json=deployment, headers=admin_headers).status_code == 202
        assert client.post("/webhooks/generic", json=incident, headers=admin_headers).status_code == 202
        assert client.post("/api/v1/friction", json=friction, headers=admin_headers).status_code == 202
        assert client.get("/api/v1/friction", params={"category": text[:60]}, headers=admin_headers).status_code == 200
        # Not a service name (422) or no such service (404), naming the field: never run as SQL.
        filtered = client.get("/api/v1/metrics/dora", params={"service": text[:100]}, headers=admin_headers)
        assert filtered.status_code in (404, 422)
        assert filtered.json()["error"]["field"] == "service"
    drain(settings)

    session.rollback()
    assert session.exec(select(func.count()).select_from(InboxEvent)).one() == 3 * len(NASTY)
    assert sorted(session.exec(select(Deployment.version)).all()) == sorted(t[:120] for t in NASTY)
    assert sorted(session.exec(select(Incident.title)).all()) == sorted(NASTY)
    assert sorted(session.exec(select(FrictionReport.text)).all()) == sorted(f"{t} is slow" for t in NASTY)
