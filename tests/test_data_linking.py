"""The data page says what it knows about incident links, never more: nothing to link is not "every
incident is linked", events still waiting are named, and it says when the linking (event processing)
last ran."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from fastapi.testclient import TestClient

from service.core.settings import Settings
from service.core.timeutil import utcnow
from tests.factories import issue_token, make_deployment, make_incident
from tests.test_web import sign_in
from workers.process import drain


def _linking(client: TestClient) -> str:
    page = client.get("/data")
    assert page.status_code == 200
    section = page.text[page.text.index("Incidents not linked to a deployment") :]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section[: section.index("<h2>")]))


def test_the_data_page_claims_no_link_it_has_not_seen(client: TestClient, settings: Settings) -> None:
    secret = issue_token(settings, "lead", ["ingest", "read", "admin"])
    headers = {"Authorization": f"Bearer {secret}"}
    sign_in(client, secret)

    empty = _linking(client)
    assert "No event has been processed yet" in empty
    assert "nothing to link yet" in empty
    assert "linked to a deployment." not in empty.replace("Incidents not linked to a deployment", "")

    started = utcnow() - timedelta(days=2)
    deployed = make_deployment("d-1", service="checkout-api", finished_at=started - timedelta(hours=1))
    cause = make_incident("INC-1", service="checkout-api", started_at=started, caused_by_deployment="d-1")
    orphan = make_incident("INC-2", service="search-api", started_at=started + timedelta(hours=3))
    assert client.post("/webhooks/generic", json=[deployed, cause, orphan], headers=headers).status_code == 202

    waiting = _linking(client)
    assert "3 events still waiting to be processed" in waiting
    assert "No event has been processed yet" in waiting

    drain(settings)
    deadline = time.monotonic() + 10  # the page may answer its last figures once while it recomputes them
    done = _linking(client)
    while "1 incident of 2" not in done and time.monotonic() < deadline:
        time.sleep(0.05)
        done = _linking(client)
    assert "events were last processed" in done
    assert "still waiting" not in done
    assert "1 incident of 2 since" in done
    assert "INC-2" in done
