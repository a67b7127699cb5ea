"""Weekly rollups give exactly the figures a recompute from raw rows gives, and stay fresh incrementally."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from service.core import marks
from service.core.settings import Settings
from service.figures.metrics import compute, rollup
from tests.helpers import make_settings
from tests.random_frames import random_frames

PROD = frozenset({"production"})


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("group_by", ["service", "team", "platform", "cohort"])
@pytest.mark.parametrize("tz", ["UTC", "America/Los_Angeles"])
def test_rollups_give_exactly_the_raw_figures(seed: int, group_by: str, tz: str) -> None:
    d, lead, inc, fr = random_frames(seed)
    teams = dict(zip(d["service"], d["team"], strict=False))

    frames = compute.Frames(d, lead, inc, fr)
    direct = compute.weekly(frames, tz=tz, environments=PROD, group_by=group_by)
    rows = rollup.rollup(frames, tz=tz, environments=PROD)
    rows = rows.assign(
        team=rows["service"].map(teams),
        cohort=rows["platform"].map(lambda p: "migrated" if p == "new" else "not_migrated"),
    )
    from_rollups = rollup.weekly_from_rollups(rows, group_by=group_by)

    pd.testing.assert_frame_equal(
        direct.reset_index(drop=True),
        from_rollups.reset_index(drop=True),
        check_dtype=False,
        check_exact=False,
        rtol=1e-9,
    )


def _weekly(client: TestClient, headers: dict[str, str], group_by: str) -> list[dict[str, object]]:
    params = {"from": "2026-10-05", "to": "2026-10-26", "group_by": group_by}
    response = client.get("/api/v1/metrics/weekly", params=params, headers=headers)
    assert response.status_code == 200
    rows: list[dict[str, object]] = response.json()["rows"]
    return rows


def _refresh(settings: Settings) -> None:
    from service.core.db import session_scope
    from service.figures import rollups_db

    with session_scope(settings.database_url, write=True) as session:
        rollups_db.refresh(session, settings)


def test_the_endpoint_reads_rollups_and_they_stay_fresh(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    from sqlalchemy import delete

    from service.core.db import get_engine, session_scope
    from service.core.models import RollupDirty, RollupState, WeeklyRollup
    from service.figures import rollups_db
    from tests.factories import T0, make_deployment, make_incident
    from tests.test_metrics_api import load
    from workers.process import drain

    load(client, admin_headers)
    drain(settings)
    raw = {g: _weekly(client, admin_headers, g) for g in ("service", "platform", "team")}
    with session_scope(settings.database_url, write=True) as session:
        written = rollups_db.rebuild(session, settings)

    assert written > 0
    assert {g: _weekly(client, admin_headers, g) for g in raw} == raw

    # New events mark their (service, week) dirty; a refresh brings the rollups level with raw rows.
    client.post(
        "/webhooks/generic",
        json=make_deployment("late", service="worker", finished_at=T0 + timedelta(days=8)),
        headers=admin_headers,
    )
    client.post(
        "/webhooks/generic",
        json=make_incident("late-i", service="api", started_at=T0 + timedelta(days=9), caused_by_deployment="a5"),
        headers=admin_headers,
    )
    drain(settings)
    with Session(get_engine(settings.database_url)) as session:
        dirty = session.exec(select(RollupDirty)).all()
    assert {d.service for d in dirty} == {"api", "worker"}
    _refresh(settings)
    fresh = {g: _weekly(client, admin_headers, g) for g in raw}
    with session_scope(settings.database_url, write=True) as session:
        session.exec(delete(RollupState))  # forget the rollups: the endpoint recomputes from raw rows
        session.commit()
    assert fresh == {g: _weekly(client, admin_headers, g) for g in raw}  # the same as recomputed from raw rows
    assert fresh != raw

    # A new platform history relabels every week of the service.
    history = [{"platform": "edge", "effective_from": "2025-01-01T00:00:00Z"}]
    with session_scope(settings.database_url, write=True) as session:
        rollups_db.rebuild(session, settings)
    client.put("/api/v1/services/worker", json={"team": "core", "platforms": history}, headers=admin_headers)
    _refresh(settings)
    platforms = {row["group"] for row in _weekly(client, admin_headers, "platform")}
    assert platforms == {"new", "edge"}
    with session_scope(settings.database_url) as session:
        assert {r.platform for r in session.exec(select(WeeklyRollup).where(WeeklyRollup.service == "worker"))} == {
            "edge"
        }


def test_a_refresh_never_clears_a_mark_whose_events_it_could_not_see(pg_database_url: str, tmp_path: Path) -> None:
    """A worker's transaction adds a deployment and marks its week while a refresh runs: the refresh must
    leave that mark (it skips it while locked), so the next refresh counts the deployment."""
    from service.core.db import get_engine, session_scope
    from service.core.models import Deployment, RollupDirty, Service, WeeklyRollup
    from service.figures import rollups_db

    settings = make_settings(pg_database_url, tmp_path)
    moment = datetime(2026, 10, 7, 12, tzinfo=UTC)

    def deployment(external_id: str) -> Deployment:
        return Deployment(
            source="generic", external_id=external_id, service="ledger", environment="production",
            status="success", started_at=moment, finished_at=moment,
        )  # fmt: skip

    with session_scope(pg_database_url, write=True) as session:
        session.add(Service(slug="ledger"))
        session.add(deployment("d-1"))
        rollups_db.rebuild(session, settings)  # rollups exist; the week counts one deployment
        marks.mark_dirty(session, [("ledger", moment)], tz=settings.timezone)
        session.commit()

    with Session(get_engine(pg_database_url)) as worker:  # a drain, not yet committed
        worker.add(deployment("d-2"))
        worker.flush()
        marks.mark_dirty(worker, [("ledger", moment)], tz=settings.timezone)
        with session_scope(pg_database_url, write=True) as refresher:
            assert rollups_db.refresh(refresher, settings) == 0  # the mark is taken: left for later
        worker.commit()

    with session_scope(pg_database_url, write=True) as session:
        assert session.exec(select(func.count()).select_from(RollupDirty)).one() == 1
        assert rollups_db.refresh(session, settings) == 1
        counted = session.exec(select(WeeklyRollup.deployments).where(WeeklyRollup.service == "ledger")).all()
    assert sum(counted) == 2


def test_the_embedded_worker_refreshes_rollups_in_bounded_passes_until_none_is_dirty(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    from service.core.db import get_engine, session_scope
    from service.core.models import RollupDirty
    from service.figures import rollups_db
    from tests.factories import make_deployment
    from workers.embedded import ROLLUP_SERVICES_PER_HOLD, EmbeddedWorker
    from workers.process import drain

    with session_scope(settings.database_url, write=True) as session:
        rollups_db.rebuild(session, settings)
    services = [f"svc-{n}" for n in range(3 * ROLLUP_SERVICES_PER_HOLD)]
    for service in services:
        client.post("/webhooks/generic", json=make_deployment(f"d-{service}", service=service), headers=admin_headers)
    drain(settings)
    worker = EmbeddedWorker(settings)

    def dirty() -> set[str]:
        with Session(get_engine(settings.database_url)) as session:
            return {mark.service for mark in session.exec(select(RollupDirty))}

    assert dirty() == set(services)
    assert worker._refresh_rollups(0.0) is True  # no time left: nothing done, the rest waits for the next pass
    assert dirty() == set(services)
    assert worker._refresh_rollups(30.0) is False  # several short transactions, until none is dirty
    assert dirty() == set()


def test_the_embedded_schedules_rollup_refresh_asks_the_worker_loop_instead_of_refreshing_all_at_once(
    settings: Settings,
) -> None:
    from workers.embedded import EmbeddedWorker
    from workers.names import ROLLUP_TASK

    worker = EmbeddedWorker(settings)
    (entry,) = [plan.entry for plan in worker.scheduler._planned if plan.entry.task == ROLLUP_TASK]

    entry.job(settings)

    assert worker._rollups_due.is_set()  # the loop then refreshes in bounded passes
