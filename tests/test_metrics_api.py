"""The metrics endpoints against values computed independently in the test, from a fixed dataset."""

from __future__ import annotations

import csv
import io
import statistics
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.core.settings import Settings
from tests.factories import T0, iso, issue_token, make_deployment, make_incident, sha
from tests.vendors import gh_commit, gh_deployment_status, gh_push, github_request, pd_incident_event, pd_request
from workers.process import drain

# Two services on two platforms over two ISO weeks (T0 is Monday 2026-10-05, W41).
HOUR = timedelta(hours=1)
DEPLOYS = [
    # (id, service, day offset, status, commit lead hours)
    ("a1", "api", 0, "success", [2, 6]),
    ("a2", "api", 1, "success", [1]),
    ("a3", "api", 2, "failure", []),
    ("a4", "api", 3, "success", [10, 20, 30]),
    ("w1", "worker", 0, "success", [48]),
    ("w2", "worker", 4, "success", [72, 24]),
    ("a5", "api", 7, "success", [3]),  # next week
    ("s1", "api", 1, "success", [1]),  # staging: never counted
]
INCIDENTS = [
    # (id, service, start offset hours, restore minutes or None, caused by)
    ("i1", "api", 30, 45, "a2"),
    ("i2", "worker", 100, 180, None),
    ("i3", "api", 60, None, None),
]


def load(client: TestClient, headers: dict[str, str]) -> None:
    platforms = {"api": "new", "worker": "legacy"}
    for service, platform in platforms.items():
        body = {"team": "core", "platforms": [{"platform": platform, "effective_from": "2025-01-01T00:00:00Z"}]}
        assert client.put(f"/api/v1/services/{service}", json=body, headers=headers).is_success
    for n, (ident, service, day, status, leads) in enumerate(DEPLOYS):
        finished = T0 + timedelta(days=day, hours=n)
        commits = [(sha(100 * n + i), finished - lead * HOUR) for i, lead in enumerate(leads)]
        event = make_deployment(
            ident,
            service=service,
            status=status,
            finished_at=finished,
            commits=commits,
            environment="staging" if ident == "s1" else "production",
        )
        assert client.post("/webhooks/generic", json=event, headers=headers).status_code == 202
    for ident, service, start, minutes, cause in INCIDENTS:
        extra: dict[str, Any] = {"caused_by_deployment": cause} if cause else {}
        if minutes is not None:
            extra |= {"status": "resolved", "resolved_at": T0 + start * HOUR + timedelta(minutes=minutes)}
        event = make_incident(ident, service=service, started_at=T0 + start * HOUR, severity="sev2", **extra)
        assert client.post("/webhooks/generic", json=event, headers=headers).status_code == 202


@pytest.fixture
def loaded(client: TestClient, admin_headers: dict[str, str], settings: Settings) -> TestClient:
    load(client, admin_headers)
    drain(settings)
    return client


def first_deploys(services: set[str]) -> set[str]:
    """A service's first production deployment ships its whole history: its commits do not count
    (docs/metrics.md)."""
    return {next(d[0] for d in DEPLOYS if d[1] == s and d[0] != "s1" and d[3] == "success") for s in services}


def expected_deploys(services: set[str], week: int) -> dict[str, Any]:
    """Deployments, lead time and change failure rate, computed by hand from DEPLOYS/INCIDENTS."""
    rows = [d for d in DEPLOYS if d[1] in services and d[0] != "s1" and d[2] // 7 == week]
    ok = [d for d in rows if d[3] == "success"]
    firsts = first_deploys(services)
    leads = [lead * 3600.0 for d in ok if d[0] not in firsts for lead in d[4]]
    caused = {i[4] for i in INCIDENTS if i[4]}
    failed = [d for d in rows if d[3] != "success" or d[0] in caused]
    return {
        "deployments": len(ok),
        "lead_median": statistics.median(leads) if leads else None,
        "lead_n": len(leads),
        "cfr": len(failed) / len(rows) if rows else None,
        "failed": len(failed),
    }


def expected_incidents(services: set[str], week: int) -> dict[str, Any]:
    """Incidents and time to restore, computed by hand from INCIDENTS."""
    incs = [i for i in INCIDENTS if i[1] in services and i[2] // 168 == week]
    restores = [i[3] * 60.0 for i in incs if i[3] is not None]
    return {"restore_median": statistics.median(restores) if restores else None, "incidents": len(incs)}


def expected_week(services: set[str], week: int) -> dict[str, Any]:
    """Computed by hand from DEPLOYS/INCIDENTS, without the project's code."""
    return expected_deploys(services, week) | expected_incidents(services, week)


def test_dora_matches_a_hand_computation(loaded: TestClient, admin_headers: dict[str, str]) -> None:
    want = expected_week({"api", "worker"}, 0)

    got = loaded.get(
        "/api/v1/metrics/dora", params={"from": "2026-10-05", "to": "2026-10-12"}, headers=admin_headers
    ).json()

    assert got["deployment_frequency"]["deployments"] == want["deployments"]
    assert got["deployment_frequency"]["per_week"] == want["deployments"]
    assert got["lead_time"]["median_seconds"] == want["lead_median"]
    assert got["lead_time"]["n"] == want["lead_n"] == 6  # 9 commits, 3 of them on the services' first deployments
    assert got["change_failure_rate"]["rate"] == round(want["cfr"], 4)
    assert got["change_failure_rate"]["failed"] == want["failed"]
    assert got["time_to_restore"]["median_seconds"] == want["restore_median"]
    assert got["time_to_restore"]["unresolved"] == 1
    assert got["incidents"]["count"] == want["incidents"]
    assert got["incidents"]["by_severity"] == {"sev2": 3}
    assert got["definitions_version"] == "1.0"
    assert {w["code"] for w in got["warnings"]} >= {"incidents_unlinked", "incidents_unresolved"}


def test_filters_combine(loaded: TestClient, admin_headers: dict[str, str]) -> None:
    window = {"from": "2026-10-05", "to": "2026-10-12"}
    by_service = loaded.get(
        "/api/v1/metrics/dora", params={**window, "service": "worker"}, headers=admin_headers
    ).json()
    by_platform = loaded.get("/api/v1/metrics/dora", params={**window, "platform": "new"}, headers=admin_headers).json()
    by_team_nobody = loaded.get("/api/v1/metrics/dora", params={**window, "team": "nobody"}, headers=admin_headers)
    staging = loaded.get(
        "/api/v1/metrics/dora", params={**window, "environment": "staging"}, headers=admin_headers
    ).json()

    assert by_service["deployment_frequency"]["deployments"] == expected_week({"worker"}, 0)["deployments"]
    assert by_service["lead_time"]["median_seconds"] == expected_week({"worker"}, 0)["lead_median"]
    assert by_platform["change_failure_rate"]["rate"] == round(expected_week({"api"}, 0)["cfr"], 4)
    assert by_team_nobody.status_code == 404  # no service has that team: not zeros that read as a quiet week
    assert staging["deployment_frequency"]["deployments"] == 1


def test_weekly_rows_match_hand_computation_per_group(loaded: TestClient, admin_headers: dict[str, str]) -> None:
    params = {"from": "2026-10-05", "to": "2026-10-19", "group_by": "service"}

    body = loaded.get("/api/v1/metrics/weekly", params=params, headers=admin_headers).json()

    rows = {(r["week"], r["group"]): r for r in body["rows"]}
    assert set(rows) == {("2026-W41", "api"), ("2026-W41", "worker"), ("2026-W42", "api")}
    for (week, service), row in rows.items():
        want = expected_week({service}, int(week[-2:]) - 41)
        assert row["deployments"] == want["deployments"], (week, service)
        assert row["lead_time_median_seconds"] == want["lead_median"], (week, service)
        assert row["change_failure_rate"] == want["cfr"], (week, service)
        assert row["time_to_restore_median_seconds"] == want["restore_median"], (week, service)
        assert row["incidents"] == want["incidents"], (week, service)


def test_weekly_as_csv_by_cohort(loaded: TestClient, admin_headers: dict[str, str]) -> None:
    migration = {
        "name": "to-new",
        "from_platform": "legacy",
        "to_platform": "new",
        "started_at": "2025-06-01T00:00:00Z",
    }
    assert loaded.post("/api/v1/migrations", json=migration, headers=admin_headers).status_code == 201
    params = {"from": "2026-10-05", "to": "2026-10-19", "group_by": "cohort", "format": "csv"}

    response = loaded.get("/api/v1/metrics/weekly", params=params, headers=admin_headers)

    assert response.headers["content-type"].startswith("text/csv")
    rows = {(r["week"], r["group"]): r for r in csv.DictReader(io.StringIO(response.text))}
    assert set(rows) == {("2026-W41", "migrated"), ("2026-W41", "not_migrated"), ("2026-W42", "migrated")}
    assert int(rows[("2026-W41", "migrated")]["deployments"]) == expected_week({"api"}, 0)["deployments"]
    assert int(rows[("2026-W41", "not_migrated")]["deployments"]) == expected_week({"worker"}, 0)["deployments"]


def test_metrics_need_the_read_scope_and_a_sane_window(client: TestClient, settings: Settings) -> None:
    ingest = {"Authorization": f"Bearer {issue_token(settings, 'ci', ['ingest'])}"}
    reader = {"Authorization": f"Bearer {issue_token(settings, 'bi', ['read'])}"}

    assert client.get("/api/v1/metrics/dora").status_code == 401
    assert client.get("/api/v1/metrics/dora", headers=ingest).status_code == 403
    backwards = client.get("/api/v1/metrics/dora", params={"from": "2026-10-12", "to": "2026-10-05"}, headers=reader)
    assert backwards.status_code == 422
    assert backwards.json()["error"]["field"] == "from"
    assert client.get("/api/v1/metrics/weekly", params={"group_by": "moon"}, headers=reader).status_code == 422


def test_friction_summary(client: TestClient, admin_headers: dict[str, str], settings: Settings) -> None:
    for text, minutes in [
        ("Cold starts take 40 s", 30),
        ("cold start again on ml-api", 60),
        ("GPU quota took 3 days", 240),
    ]:
        body = {"text": text, "minutes_lost": minutes, "occurred_at": iso(T0 + HOUR)}
        assert client.post("/api/v1/friction", json=body, headers=admin_headers).status_code == 202
    drain(settings)

    got = client.get(
        "/api/v1/metrics/friction", params={"from": "2026-10-05", "to": "2026-10-12"}, headers=admin_headers
    ).json()

    assert (got["reports"], got["minutes_lost"], got["open"]) == (3, 330, 3)
    assert [(c["category"], c["reports"], c["minutes_lost"]) for c in got["by_category"]] == [
        ("cold_start_latency", 2, 90),
        ("gpu_compute_capacity", 1, 240),
    ]


def test_a_realistic_week_of_github_and_pagerduty_traffic(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    """Pushes, deployment statuses and pages as the tools send them; lead time, change failure rate and
    time to restore checked against values worked out by hand below."""
    midnight = T0.replace(hour=0)  # Monday 2026-10-05 00:00 UTC

    def d(day: int, hour: int) -> datetime:
        return midnight + timedelta(days=day, hours=hour)

    traffic: list[tuple[str, Any]] = [
        # Monday: the first production deploy (its history is excluded from lead time).
        ("gh", ("push", gh_push("main", [gh_commit(sha(1), d(-30, 0)), gh_commit(sha(2), d(0, 9))]))),
        ("gh", ("deployment_status", gh_deployment_status(1, sha(2), "success", d(0, 11)))),
        # Tuesday: two commits (lead 5 h and 3 h), deployed at 15:00.
        ("gh", ("push", gh_push("main", [gh_commit(sha(3), d(1, 10)), gh_commit(sha(4), d(1, 12))]))),
        ("gh", ("deployment_status", gh_deployment_status(2, sha(4), "success", d(1, 15)))),
        # Wednesday: one commit (lead 1 h) whose deploy pages 20 min later; resolved after 50 min.
        ("gh", ("push", gh_push("main", [gh_commit(sha(5), d(2, 9))]))),
        ("gh", ("deployment_status", gh_deployment_status(3, sha(5), "success", d(2, 10)))),
        (
            "pd",
            pd_incident_event(
                "incident.triggered", "PD1", d(2, 10) + timedelta(minutes=20), created=d(2, 10) + timedelta(minutes=20)
            ),
        ),
        ("pd", pd_incident_event("incident.resolved", "PD1", d(2, 11) + timedelta(minutes=10))),
        # Thursday: a failed deployment (status failure) of a commit pushed at 13:00.
        ("gh", ("push", gh_push("main", [gh_commit(sha(6), d(3, 13))]))),
        ("gh", ("deployment_status", gh_deployment_status(4, sha(6), "failure", d(3, 14)))),
        # Friday: the fix (lead 2 h for sha 7; sha 6 first reaches production here too: lead 26 h).
        ("gh", ("push", gh_push("main", [gh_commit(sha(7), d(4, 13))]))),
        ("gh", ("deployment_status", gh_deployment_status(5, sha(7), "success", d(4, 15)))),
        # Sunday 18:00: a page 51 h after the last deploy (outside the 24 h link window); 2 h to restore.
        ("pd", pd_incident_event("incident.triggered", "PD2", d(6, 18), created=d(6, 18))),
        ("pd", pd_incident_event("incident.resolved", "PD2", d(6, 20))),
    ]
    for kind, item in traffic:
        if kind == "gh":
            event, payload = item
            response = client.post("/webhooks/github", **github_request(event, payload))
        else:
            response = client.post("/webhooks/pagerduty", **pd_request(item))
        assert response.status_code == 202, response.text
    drain(settings)

    got = client.get(
        "/api/v1/metrics/dora", params={"from": "2026-10-05", "to": "2026-10-12"}, headers=admin_headers
    ).json()

    # Lead times that count (hours): 5, 3 (Tue), 1 (Wed), 26, 2 (Fri) → median 3 h. Excluded: 2 (first deploy).
    assert got["lead_time"]["n"] == 5
    assert got["lead_time"]["median_seconds"] == 3 * 3600
    assert got["lead_time"]["excluded_by_reason"] == {"first_deployment": 2}
    # Completed production deployments: 5; failed: Thursday's (status) and Wednesday's (linked page) → 40 %.
    assert got["change_failure_rate"] == {
        "rate": 0.4,
        "failed": 2,
        "deployments": 5,
        "band": "low",
        "low_sample": False,
    }
    # Restores: 50 min and 120 min → median 85 min.
    assert got["time_to_restore"]["median_seconds"] == 85 * 60
    assert got["deployment_frequency"]["deployments"] == 4
    # Four deployments and two restores are fewer than min_sample (5): flagged, and no band.
    assert (got["deployment_frequency"]["low_sample"], got["deployment_frequency"]["band"]) == (True, None)
    assert (got["time_to_restore"]["low_sample"], got["time_to_restore"]["band"]) == (True, None)
    assert got["lead_time"]["band"] == "elite"
