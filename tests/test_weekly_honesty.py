"""/metrics/weekly says what it cannot vouch for: data-quality warnings (over the window's last four weeks)
in JSON and CSV, and the current, unfinished week marked as the week so far."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from fastapi.testclient import TestClient

from service.core.settings import Settings
from service.core.timeutil import utcnow
from tests.factories import make_deployment, make_incident
from workers.process import drain


def test_weekly_carries_warnings_and_marks_the_week_so_far(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    now = utcnow()
    events = [
        make_deployment("d-older", finished_at=now - timedelta(weeks=6)),  # before the warnings' four weeks
        make_deployment("d-old", finished_at=now - timedelta(weeks=2)),  # no commits: no lead time
        make_deployment("d-now", finished_at=now - timedelta(minutes=5)),
        make_deployment(  # shipped a commit: not counted (each deployment's own links, not any link at all)
            "d-shipped", finished_at=now - timedelta(weeks=1), commits=[("abc1234", now - timedelta(weeks=1, hours=3))]
        ),
        make_incident("INC-9", started_at=now - timedelta(weeks=2, hours=-1)),  # never resolved
    ]
    assert client.post("/webhooks/generic", json=events, headers=admin_headers).status_code == 202
    drain(settings)
    params = {"group_by": "service", "from": (now - timedelta(weeks=8)).date().isoformat()}

    body = client.get("/api/v1/metrics/weekly", params=params, headers=admin_headers).json()
    csv_text = client.get("/api/v1/metrics/weekly", params={**params, "format": "csv"}, headers=admin_headers).text

    assert body["warnings_from"] < (now - timedelta(weeks=4) + timedelta(minutes=1)).isoformat()
    codes = {w["code"]: w["count"] for w in body["warnings"]}
    assert codes["deployments_without_commits"] == 2
    assert codes["incidents_unresolved"] == 1
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert all("deployments_without_commits: 2" in row["warnings"] for row in rows)
    so_far = [row["week_so_far"] for row in body["rows"]]
    assert so_far[-1] is True
    assert so_far.count(True) == 1
