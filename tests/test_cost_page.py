"""The cost page (issue 29 #5) over HTTP: weekly cost by platform, team and service, the unallocated share,
idle GPU cost, cost per deployment and the move week, checked against figures worked out by hand from the
events sent; its CSV is the same figures, formula-safe; its read agrees with the weekly table's for every
grouping. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app.web.app import create_app
from service.app.web.cost_view import CSV_COLUMNS
from service.core.db import session_scope
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.weeks import recent_weeks, week_window
from service.figures.weekly import COST_GROUPS, cost_allocation, weekly_metrics
from tests.factories import iso, issue_token, make_deployment
from tests.fakes import RecordingWaker
from tests.helpers import make_settings
from tests.test_web import sign_in
from workers.process import drain

HOSTILE_PLATFORM = '=HYPERLINK("http://x","<b>x</b>")'


def spend(
    id_: str, service: str | None, amount: float, week: tuple[datetime, datetime], **extra: Any
) -> dict[str, Any]:
    start, end = week
    return {
        "type": "cost",
        "id": id_,
        "service": service,
        "period_start": iso(start),
        "period_end": iso(end),
        "amount": amount,
        "currency": "USD",
        **extra,
    }


def gpu_hours(id_: str, metric: str, value: float, week: tuple[datetime, datetime]) -> dict[str, Any]:
    start, end = week
    return {
        "type": "measurement",
        "id": id_,
        "service": "ml",
        "metric": metric,
        "value": value,
        "period_start": iso(start),
        "period_end": iso(end),
    }


@pytest.fixture
def world(database_url: str, tmp_path: Any) -> Iterator[tuple[Settings, TestClient, list[str]]]:
    """Three complete weeks: api (team core) stays on legacy; ml (team ml) moves to new at the start of the
    newest week. Each week: api 100, ml 200 + GPU 80 (GPU used 25 of 100 hours), 50 unallocated; in the
    newest week api deploys twice and ml three times; one line carries a hostile platform name."""
    settings = make_settings(database_url, tmp_path)
    weeks = list(reversed(recent_weeks(utcnow(), settings.timezone, 3)))
    windows = [week_window(w, settings.timezone) for w in weeks]
    with TestClient(create_app(settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        headers = {"Authorization": f"Bearer {issue_token(settings, 'ci', ['ingest', 'read', 'admin'])}"}
        long_ago = iso(windows[0][0] - timedelta(days=400))
        for slug, team, platforms in (
            ("api", "core", [{"platform": "legacy", "effective_from": long_ago}]),
            (
                "ml",
                "ml",
                [
                    {"platform": "legacy", "effective_from": long_ago},
                    {"platform": "new", "effective_from": iso(windows[-1][0])},
                ],
            ),
        ):
            body = {"team": team, "tier": "2", "platforms": platforms}
            client.put(f"/api/v1/services/{slug}", json=body, headers=headers).raise_for_status()
        migration = {"name": "to-new", "from_platform": "legacy", "to_platform": "new", "started_at": long_ago}
        client.post("/api/v1/migrations", json=migration, headers=headers).raise_for_status()
        events: list[dict[str, Any]] = []
        for n, window in enumerate(windows):
            events += [
                spend(f"api-{n}", "api", 100.0, window),
                spend(f"ml-{n}", "ml", 200.0, window),
                spend(f"ml-gpu-{n}", "ml", 80.0, window, category="gpu"),
                spend(f"none-{n}", None, 40.0, window),
                spend(f"odd-{n}", None, 10.0, window, platform=HOSTILE_PLATFORM),
                gpu_hours(f"prov-{n}", "gpu_hours_provisioned", 100.0, window),
                gpu_hours(f"used-{n}", "gpu_hours_used", 25.0, window),
            ]
        newest = windows[-1][0] + timedelta(days=2)
        events += [make_deployment(f"api-d{i}", service="api", finished_at=newest) for i in range(2)]
        events += [make_deployment(f"ml-d{i}", service="ml", finished_at=newest) for i in range(3)]
        assert client.post("/webhooks/generic", json=events, headers=headers).status_code == 202
        drain(settings)
        sign_in(client, issue_token(settings, "leader", ["read"]))
        yield settings, client, weeks


def test_the_cost_page_shows_the_weeks_figures_worked_out_by_hand(
    world: tuple[Settings, TestClient, list[str]],
) -> None:
    _, client, weeks = world
    html = client.get("/cost?weeks=4").text
    newest = html.split(f'data-week="{weeks[-1]}"')[1].split("</tr>")[0]
    earlier = html.split(f'data-week="{weeks[0]}"')[1].split("</tr>")[0]
    by_team = html.split('id="cost-by-team"')[1].split("</table>")[0]

    assert "USD 430" in newest  # 100 + 200 + 80 + 40 + 10
    assert "12%" in newest  # (40 + 10) / 430 unallocated
    assert "USD 60" in newest  # idle GPU: 80 × (1 − 25/100)
    assert "USD 86.00" in newest  # 430 / 5 deploys
    assert "▲ moved: ml" in newest
    assert "moved" not in earlier
    assert "–" in earlier  # no deploys: no cost per deploy, never a division by zero
    assert [row.split("<")[0] for row in by_team.split('data-label="Team">')[1:]] == ["ml", "core", "unallocated"]
    assert "USD 840" in by_team  # ml: 280 × 3 weeks
    assert "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_the_csv_is_the_same_figures_and_formula_safe(world: tuple[Settings, TestClient, list[str]]) -> None:
    _, client, weeks = world
    response = client.get("/cost.csv?weeks=4")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    whole = {r["week"]: r for r in rows if r["grouping"] == "all"}
    platforms = {r["group"] for r in rows if r["grouping"] == "platform"}

    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert float(whole[weeks[-1]]["compute_cost"]) == pytest.approx(430.0)
    assert float(whole[weeks[-1]]["cost_per_deployment"]) == pytest.approx(86.0)
    assert float(whole[weeks[-1]]["idle_gpu_cost"]) == pytest.approx(60.0)
    assert whole[weeks[0]]["cost_per_deployment"] == ""
    assert "'" + HOSTILE_PLATFORM in platforms  # shown as text by a spreadsheet, never run
    assert not any(cell.startswith(("=", "@")) for row in rows for cell in row.values())
    assert {r["currency"] for r in rows} == {"USD"}


def test_the_cost_read_agrees_with_the_weekly_table_for_every_grouping(
    world: tuple[Settings, TestClient, list[str]],
) -> None:
    settings, _, weeks = world
    start, end = week_window(weeks[0], settings.timezone)[0], week_window(weeks[-1], settings.timezone)[1]
    columns = ["week", "group", "compute_cost", "unallocated_cost_share", "idle_gpu_cost", "cost_per_deployment"]
    with session_scope(settings.database_url) as session:
        tables = cost_allocation(session, settings, start=start, end=end)
        for grouping in COST_GROUPS[1:]:
            alone = weekly_metrics(session, settings, group_by=grouping, start=start, end=end, work=False)
            mine = tables[grouping][columns].dropna(subset=["compute_cost"]).reset_index(drop=True)
            theirs = alone[columns].dropna(subset=["compute_cost"]).reset_index(drop=True)
            assert mine.equals(theirs), grouping
    assert set(tables["all"]["group"]) == {"all"}


def test_an_install_without_cost_data_says_what_to_connect(database_url: str, tmp_path: Any) -> None:
    settings = make_settings(database_url, tmp_path)
    with TestClient(create_app(settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        sign_in(client, issue_token(settings, "leader", ["read"]))
        page = client.get("/cost")
        export = client.get("/cost.csv")
    assert page.status_code == 200
    assert "No cost data yet" in page.text
    assert export.text.splitlines() == [",".join(CSV_COLUMNS)]
