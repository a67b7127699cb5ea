"""``POST /api/v1/imports`` and ``GET /api/v1/imports/{id}`` (admin): a run is queued, the worker job runs it
with its progress on the row, and its end (the summary, or the reason it failed) is read back; the
scheduled incremental import continues from the checkpoints."""

from __future__ import annotations

import json
import time
import typing
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from integrations.history import runs, sources
from integrations.history.runner import ImportSummary
from service.app.api.routes.imports import SourceName
from service.app.web.app import create_app
from service.core.db import get_engine
from service.core.models import Deployment, ImportCheckpoint, ImportRequest, ImportRun
from service.core.settings import Settings
from tests.factories import issue_token
from tests.fakes import RecordingWaker
from tests.helpers import make_settings
from tests.history_standins import START, GitHubStandIn, make_repo, serve_github
from workers import jobs
from workers.names import IMPORT_RUNS_TASK
from workers.process import drain

REPO = "acme/checkout-api"


@pytest.fixture
def stand_in() -> Iterator[GitHubStandIn]:
    with serve_github(GitHubStandIn({REPO: make_repo(1, REPO, days=10)})) as served:
        yield served


@pytest.fixture
def settings_with_token(database_url: str, tmp_path: Path, stand_in: GitHubStandIn) -> Settings:
    return make_settings(database_url, tmp_path, github_token="ghp-test", github_api_url=stand_in.url)


def test_an_admin_queues_an_import_and_follows_it_to_the_end(settings_with_token: Settings) -> None:
    settings = settings_with_token
    waker = RecordingWaker()
    admin = {"Authorization": f"Bearer {issue_token(settings, 'admin', ['admin'])}"}
    reader = {"Authorization": f"Bearer {issue_token(settings, 'reader', ['read'])}"}
    asked = {
        "source": "github",
        "targets": [REPO],
        "since": START.isoformat(),
        "until": (START + timedelta(days=10)).isoformat(),
    }
    with TestClient(create_app(settings, waker=waker)) as client:
        assert client.post("/api/v1/imports", json=asked, headers=reader).status_code == 403
        created = client.post("/api/v1/imports", json=asked, headers=admin)
        assert created.status_code == 202, created.text
        run = created.json()
        assert (run["state"], run["targets"], run["requested_by"]) == ("queued", [REPO], "api:admin")
        assert waker.requested == [IMPORT_RUNS_TASK]
        assert jobs.requested_imports(settings) == [run["id"]]
        drain(settings)
        done = client.get(f"/api/v1/imports/{run['id']}", headers=admin).json()
        assert client.get("/api/v1/imports/999999", headers=admin).status_code == 404
    assert done["state"] == "finished"
    assert done["progress"]["summary"]["records"]["deployment"] == 5
    assert done["progress"]["scopes"][f"{REPO}:deployments"] == {"pages": 1, "records": 5}
    with Session(get_engine(settings.database_url)) as session:
        assert len(session.exec(select(Deployment)).all()) == 5


def test_a_missing_credential_or_target_is_a_422_naming_it(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path)
    admin = {"Authorization": f"Bearer {issue_token(settings, 'admin', ['admin'])}"}
    asked = {"source": "pagerduty", "targets": ["PF9KMXH"], "since": START.isoformat()}
    with TestClient(create_app(settings, waker=RecordingWaker())) as client:
        refused = client.post("/api/v1/imports", json=asked, headers=admin)
        unknown = client.post("/api/v1/imports", json={**asked, "source": "bitbucket"}, headers=admin)
        empty = client.post("/api/v1/imports", json={**asked, "targets": []}, headers=admin)
    assert refused.status_code == 422
    assert "FRICTIONLOG_PAGERDUTY_API_KEY" in refused.text
    assert unknown.status_code == 422
    assert "source" in unknown.text
    assert empty.status_code == 422
    assert "targets" in empty.text


def test_a_run_the_vendor_refuses_ends_failed_with_the_reason(
    settings_with_token: Settings, stand_in: GitHubStandIn
) -> None:
    stand_in.trouble = lambda _p, _q, _n: "401"
    run = runs.request_run(
        settings_with_token, source="github", targets=[REPO], since=START, until=None, requested_by="t"
    )
    assert run.id is not None
    assert runs.run_queued(settings_with_token) == [run.id]
    ended = runs.get_run(settings_with_token, run.id)
    assert ended is not None
    assert ended.state == "failed"
    assert ended.error is not None
    assert "FRICTIONLOG_GITHUB_TOKEN was refused (HTTP 401)" in ended.error


@pytest.mark.parametrize("until", [None, "2026-01-20T12:30:00-05:00"])
def test_the_runner_imports_the_window_the_api_shows(
    settings_with_token: Settings, monkeypatch: pytest.MonkeyPatch, until: str | None
) -> None:
    """One reader of a run's stored request: what GET shows is what the worker imports (an omitted end:
    up to when the run starts)."""
    settings = settings_with_token
    called: list[tuple[Sequence[str], datetime, datetime]] = []
    run = sources.run

    def spy(
        settings: Settings, name: str, targets: Sequence[str], *, since: datetime, until: datetime, **more: Any
    ) -> ImportSummary:
        called.append((targets, since, until))
        return run(settings, name, targets, since=since, until=until, **more)

    monkeypatch.setattr(sources, "run", spy)
    admin = {"Authorization": f"Bearer {issue_token(settings, 'admin', ['admin'])}"}
    asked = {"source": "github", "targets": [f" {REPO} ", " "], "since": "2026-01-05T09:00:00+02:00"}
    with TestClient(create_app(settings, waker=RecordingWaker())) as client:
        created = client.post("/api/v1/imports", json={**asked, "until": until}, headers=admin).json()
        before = datetime.now(UTC)
        runs.run_queued(settings)
        shown = client.get(f"/api/v1/imports/{created['id']}", headers=admin).json()
    assert (shown["targets"], shown["since"]) == ([REPO], "2026-01-05T07:00:00+00:00")
    assert shown["until"] == ("2026-01-20T17:30:00+00:00" if until else None)
    [(targets, since, end)] = called
    assert (list(targets), since.isoformat()) == (shown["targets"], shown["since"])
    if until:
        assert end.isoformat() == shown["until"]
    else:
        assert before <= end <= datetime.now(UTC)


def test_a_stored_request_reads_back_as_written() -> None:
    for request in (
        ImportRequest(targets=("a/b", "c/d"), since=START, until=START + timedelta(days=3)),
        ImportRequest(targets=("PF9KMXH",), since=START),
    ):
        assert ImportRequest.of(json.loads(json.dumps(request.as_json()))) == request


def test_the_scheduled_import_continues_from_the_checkpoints(settings_with_token: Settings) -> None:
    settings = settings_with_token.model_copy(update={"import_schedule": [f"github:{REPO}"]})
    first_end = START + timedelta(days=5)
    sources.run(settings, "github", [REPO], since=START, until=first_end)
    now = START + timedelta(days=10)
    since, until = runs.scheduled_window(settings, "github", REPO, now)
    assert (since, until) == (first_end - timedelta(days=1), now)
    with Session(get_engine(settings.database_url)) as session:
        assert {c.covered_until for c in session.exec(select(ImportCheckpoint)).all()} == {first_end}


def test_the_api_names_every_history_source() -> None:
    assert set(typing.get_args(SourceName)) == set(sources.SOURCES)


def test_the_data_page_queues_an_import_for_an_admin_and_lists_it(settings_with_token: Settings) -> None:
    from tests.test_web import csrf_of, sign_in

    settings = settings_with_token
    admin = issue_token(settings, "lead", ["admin"])
    reader = issue_token(settings, "viewer", ["read"])
    waker = RecordingWaker()
    with TestClient(create_app(settings, waker=waker)) as client:
        sign_in(client, reader)
        assert "Import history" not in client.get("/data").text  # readers see no form
        client.cookies.clear()
        sign_in(client, admin)
        page = client.get("/data")
        form = {"source": "github", "targets": REPO, "since": "2026-01-05", "csrf": csrf_of(page.text)}
        queued = client.post("/data/import", data=form)
        refused = client.post("/data/import", data={**form, "targets": " , "})
        jobs.requested_imports(settings)
        listed = client.get("/data").text
    assert queued.status_code == 200
    assert "is queued" in queued.text
    assert waker.requested == [IMPORT_RUNS_TASK]
    assert "Not queued: name at least one repo to import" in refused.text
    assert f"github · {REPO} · finished" in listed


def test_in_embedded_mode_an_import_asked_for_on_the_api_runs_with_no_pulls_configured(
    settings_with_token: Settings,
) -> None:
    """The default set-up (embedded, no OpenCost or Prometheus URL): the in-process worker runs the import
    the API queued, at once (the API wakes it), without a broker or anything else to run."""
    settings = settings_with_token
    assert settings.embedded
    assert settings.opencost_url is None
    assert settings.prometheus_url is None
    admin = {"Authorization": f"Bearer {issue_token(settings, 'admin', ['admin'])}"}
    asked = {"source": "github", "targets": [REPO], "since": START.isoformat()}
    with TestClient(create_app(settings)) as client:  # no waker given: the embedded worker
        run = client.post("/api/v1/imports", json=asked, headers=admin).json()
        deadline = time.monotonic() + 20.0
        while (shown := client.get(f"/api/v1/imports/{run['id']}", headers=admin).json())["state"] in (
            "queued",
            "running",
        ) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert shown["state"] == "finished", shown
    assert shown["progress"]["summary"]["records"]["deployment"] == 5


def _cut_off(
    settings: Settings, run_id: int, *, silent_for: timedelta, heartbeat: bool = True, taken_up: int = 0
) -> None:
    """What a worker that died mid-run leaves: the run ``running``, its last heartbeat ``silent_for`` ago
    (none: a row from before heartbeats, created then), asked for a day before."""
    with Session(get_engine(settings.database_url)) as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        now = datetime.now(UTC)
        run.state = "running"
        run.heartbeat_at = now - silent_for if heartbeat else None
        run.created_at = now - (timedelta(days=1) if heartbeat else silent_for)
        run.progress = {"scopes": {f"{REPO}:deployments": {"pages": 0, "records": 0}}, "rate_limit_wait_seconds": 61.0}
        if taken_up:
            run.progress["taken_up"] = taken_up
        session.add(run)
        session.commit()


def _queued(settings: Settings) -> int:
    run = runs.request_run(settings, source="github", targets=[REPO], since=START, until=None, requested_by="t")
    assert run.id is not None
    return run.id


def _state(settings: Settings, run_id: int) -> ImportRun:
    run = runs.get_run(settings, run_id)
    assert run is not None
    return run


@pytest.mark.parametrize("heartbeat", [True, False], ids=["silent", "from_before_heartbeats"])
def test_a_run_whose_worker_died_is_taken_up_and_finishes(settings_with_token: Settings, heartbeat: bool) -> None:
    settings = settings_with_token
    run_id = _queued(settings)
    _cut_off(settings, run_id, silent_for=runs.SILENT_FOR + timedelta(minutes=1), heartbeat=heartbeat)
    assert runs.run_queued(settings) == [run_id]
    ended = _state(settings, run_id)
    assert ended.state == "finished"
    assert ended.heartbeat_at is not None
    assert ended.progress["summary"]["records"]["deployment"] == 5
    assert ended.progress["taken_up"] == 1
    assert ended.progress["rate_limit_wait_seconds"] == 61.0  # its progress goes on
    assert ended.progress["scopes"][f"{REPO}:deployments"] == {"pages": 1, "records": 5}
    drain(settings)
    with Session(get_engine(settings.database_url)) as session:
        assert len(session.exec(select(Deployment)).all()) == 5


def test_a_run_that_is_alive_is_left_to_its_worker(settings_with_token: Settings) -> None:
    """Asked for long ago but beating, a running run is never taken twice."""
    settings = settings_with_token
    run_id = _queued(settings)
    _cut_off(settings, run_id, silent_for=runs.SILENT_FOR - timedelta(minutes=1))
    assert runs.run_queued(settings) == []
    assert _state(settings, run_id).state == "running"


def test_a_run_cut_off_too_often_ends_failed_and_the_next_one_runs(settings_with_token: Settings) -> None:
    settings = settings_with_token
    doomed, next_one = _queued(settings), _queued(settings)
    _cut_off(settings, doomed, silent_for=runs.SILENT_FOR + timedelta(minutes=1), taken_up=runs.TAKE_UPS)
    assert runs.run_queued(settings) == [next_one]
    ended = _state(settings, doomed)
    assert ended.state == "failed"
    assert ended.error is not None
    assert f"cut off {runs.TAKE_UPS + 1} times" in ended.error
    assert _state(settings, next_one).state == "finished"


def test_a_run_that_crashes_ends_failed_with_the_reason_and_the_next_one_runs(
    settings_with_token: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error no one foresaw (an odd vendor answer, a bug) ends the run with its reason: it is never left
    ``running`` to be taken up and crash again for ever."""
    settings = settings_with_token
    crashing, next_one = _queued(settings), _queued(settings)
    run = sources.run

    def crash_first(settings: Settings, name: str, targets: Sequence[str], **more: Any) -> ImportSummary:
        if _state(settings, crashing).state == "running":
            raise KeyError("node_id")
        return run(settings, name, targets, **more)

    monkeypatch.setattr(sources, "run", crash_first)
    assert runs.run_queued(settings) == [crashing, next_one]
    ended = _state(settings, crashing)
    assert (ended.state, ended.error) == ("failed", "the import stopped on an error: KeyError: 'node_id'")
    assert _state(settings, next_one).state == "finished"


def test_a_running_import_beats_whatever_it_is_doing(
    settings_with_token: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The heartbeat comes from a thread of its own: a run stuck in one long request or wait still beats."""
    settings = settings_with_token
    run_id = _queued(settings)
    monkeypatch.setattr(runs, "HEARTBEAT_SECONDS", 0.05)
    seen: list[datetime | None] = []
    run = sources.run

    def slow(settings: Settings, name: str, targets: Sequence[str], **more: Any) -> ImportSummary:
        seen.append(_state(settings, run_id).heartbeat_at)
        time.sleep(0.5)  # one long request: no page, no wait reported
        seen.append(_state(settings, run_id).heartbeat_at)
        return run(settings, name, targets, **more)

    monkeypatch.setattr(sources, "run", slow)
    assert runs.run_queued(settings) == [run_id]
    first, later = seen
    assert first is not None
    assert later is not None
    assert later > first
