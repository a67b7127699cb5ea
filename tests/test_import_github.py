"""``frictionlog import github`` end to end: the real client against a local GitHub stand-in, through the
inbox and the workers, into the same rows the webhooks make; re-runs, webhook + import, vendor trouble,
refused credentials, the rate limit, and a process killed mid-import then resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from integrations.history import sources
from integrations.history.client import CredentialRefused
from integrations.history.runner import ImportSummary
from service.core.db import get_engine
from service.core.models import Change, Deployment, ImportCheckpoint, InboxEvent, Incident, PullRequest
from service.core.settings import Settings
from tests.helpers import empty_all_tables, make_settings
from tests.history_standins import START, Bucket, GhRepo, GitHubStandIn, make_repo, serve_github
from tests.vendors import github_request
from workers.process import drain

DAYS = 24
REPOS = ["acme/checkout-api", "acme/ledger"]
UNTIL = START + timedelta(days=DAYS)


def world() -> dict[str, GhRepo]:
    return {name: make_repo(i + 1, name, days=DAYS) for i, name in enumerate(REPOS)}


def import_settings(database_url: str, tmp_path: Path, stand_in: GitHubStandIn) -> Settings:
    return make_settings(database_url, tmp_path, github_token="ghp-test", github_api_url=stand_in.url)


@pytest.fixture
def sqlite_db(sqlite_url: str) -> str:
    """SQLite alone, emptied (a test of the client's behaviour, not of the database)."""
    empty_all_tables(sqlite_url)
    return sqlite_url


def run(settings: Settings, **options: Any) -> ImportSummary:
    quick = {"sleep": lambda _s: None, "backoff_seconds": 0.0, **options.pop("client_options", {})}
    return sources.run(settings, "github", REPOS, since=START, until=UNTIL, client_options=quick, **options)


def expected(repos: dict[str, GhRepo]) -> dict[str, set[Any]]:
    """What the rows must be, computed from the stand-in's data (not from the importer)."""
    service = {name: name.split("/")[1] for name in repos}
    return {
        "deployments": {
            (str(d["id"]), service[name], repo.statuses[d["id"]][0]["state"], repo.statuses[d["id"]][0]["created_at"])
            for name, repo in repos.items()
            for d in repo.deployments
        },
        "changes": {
            (name, c["sha"], service[name])
            for name, repo in repos.items()
            for c in [*repo.commits, *(c for cs in repo.pull_commits.values() for c in cs)]
        },
        "pulls": {
            (name, p["number"], p["merge_commit_sha"])
            for name, repo in repos.items()
            for p in repo.pulls
            if p["merged_at"]
        },
        "incidents": {
            (f"{name}#{i['number']}", "resolved" if i["state"] == "closed" else "triggered")
            for name, repo in repos.items()
            for i in repo.issues
            if "pull_request" not in i
        },
    }


def stored(settings: Settings) -> dict[str, set[Any]]:
    with Session(get_engine(settings.database_url)) as session:
        deployments = session.exec(select(Deployment)).all()
        return {
            "deployments": {
                (
                    d.external_id,
                    d.service,
                    d.status,
                    d.finished_at.strftime("%Y-%m-%dT%H:%M:%SZ") if d.finished_at else "",
                )
                for d in deployments
            },
            "changes": {(c.repository, c.sha, c.service) for c in session.exec(select(Change)).all()},
            "pulls": {(p.repository, p.number, p.merge_commit_sha) for p in session.exec(select(PullRequest)).all()},
            "incidents": {(i.external_id, i.status) for i in session.exec(select(Incident)).all()},
        }


def count_rows(settings: Settings) -> dict[str, int]:
    return {name: len(rows) for name, rows in stored(settings).items()}


def test_import_makes_the_rows_of_the_history_and_a_rerun_changes_nothing(database_url: str, tmp_path: Path) -> None:
    repos = world()
    with serve_github(GitHubStandIn(repos)) as stand_in:
        settings = import_settings(database_url, tmp_path, stand_in)
        summary = run(settings)
        drain(settings)
        want = expected(repos)
        assert stored(settings) == want
        assert summary.records()["deployment"] == len(want["deployments"])
        unmerged = sum(1 for repo in repos.values() for p in repo.pulls if not p["merged_at"])
        assert unmerged > 0
        assert summary.skipped() == {
            "a pull request carrying the incident label": 2,
            "pull request closed without merging": unmerged,
        }
        asked = len(stand_in.requests)
        again = run(settings)  # every scope's checkpoint covers the window: nothing is asked again
        assert len(stand_in.requests) == asked
        assert all(s.up_to_date for s in again.scopes)
        wider = sources.run(  # a new window over the same events: fetched again, merged, not doubled
            settings,
            "github",
            REPOS,
            since=START - timedelta(days=1),
            until=UNTIL,
            client_options={"sleep": lambda _s: None},
        )
        assert sum(s.stored for s in wider.scopes) == 0
        assert sum(s.already for s in wider.scopes) == sum(s.stored for s in summary.scopes)
        drain(settings)
        assert stored(settings) == want


def test_webhook_first_then_import_gives_one_row_each(database_url: str, tmp_path: Path, client: TestClient) -> None:
    repos = world()
    repo = repos[REPOS[0]]
    with serve_github(GitHubStandIn(repos)) as stand_in:
        settings = import_settings(database_url, tmp_path, stand_in)
        for deployment in repo.deployments[:5]:  # the live webhook saw the newest deployments already
            status = repo.statuses[deployment["id"]][0]
            payload = {
                "action": "created",
                "deployment_status": status,
                "deployment": deployment,
                "repository": repo.api,
            }
            assert client.post("/webhooks/github", **github_request("deployment_status", payload)).status_code == 202
        issue = next(i for i in repo.issues if "pull_request" not in i)
        payload = {
            "action": "closed" if issue["state"] == "closed" else "opened",
            "issue": issue,
            "repository": repo.api,
        }
        assert client.post("/webhooks/github", **github_request("issues", payload)).status_code == 202
        drain(settings)
        assert len(stored(settings)["deployments"]) == 5
        run(settings)
        drain(settings)
        assert stored(settings) == expected(repos)


@pytest.mark.parametrize("trouble", ["500", "429", "secondary", "truncated"])
def test_vendor_trouble_is_retried_and_loses_nothing(trouble: str, database_url: str, tmp_path: Path) -> None:
    repos = world()
    waits: list[float] = []
    troubled = {3, 9}  # the third and ninth request misbehave once each
    stand_in = GitHubStandIn(repos, trouble=lambda _p, _q, n: trouble if n in troubled else None)
    with serve_github(stand_in):
        settings = import_settings(database_url, tmp_path, stand_in)
        summary = run(settings, client_options={"sleep": waits.append})
        drain(settings)
        assert stored(settings) == expected(repos)
    if trouble in ("500", "truncated"):
        reason = "HTTP 502" if trouble == "500" else "truncated page (the answer is not whole JSON)"
        assert (summary.retry_reasons, summary.refused) == ([reason, reason], 0)
    else:  # a rate-limit refusal is waited out for its Retry-After, and is not a try
        assert (summary.refused, summary.retried) == (2, 0)
        assert waits == ([1.0, 1.0] if trouble == "429" else [2.0, 2.0])


@pytest.mark.parametrize("status", ["401", "403"])
def test_a_refused_token_stops_naming_the_setting_and_the_scope(status: str, sqlite_db: str, tmp_path: Path) -> None:
    stand_in = GitHubStandIn(world(), trouble=lambda _p, _q, n: status if n == 2 else None)
    with serve_github(stand_in):
        settings = import_settings(sqlite_db, tmp_path, stand_in)
        with pytest.raises(CredentialRefused) as refused:
            run(settings)
    message = refused.value.message
    assert "FRICTIONLOG_GITHUB_TOKEN" in message
    assert "acme/checkout-api:deployments" in message
    assert "Deployments" in message
    assert "ghp-test" not in message


def test_the_rate_limit_is_waited_out_never_hit(sqlite_db: str, tmp_path: Path) -> None:
    """GitHub's fixed window of 10 requests: at ``remaining: 0`` the client waits for the reset, so the
    stand-in refuses nothing."""
    clock = [1_800_000_000.0]
    bucket = Bucket(10, window=60.0, clock=lambda: clock[0])
    stand_in = GitHubStandIn(world(), bucket=bucket)

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    with serve_github(stand_in):
        settings = import_settings(sqlite_db, tmp_path, stand_in)
        summary = run(settings, client_options={"sleep": sleep, "clock": lambda: clock[0]})
    assert (bucket.refused, summary.refused) == (0, 0)
    windows = -(-summary.requests // 10)
    assert summary.waited_seconds == pytest.approx(60.0 * (windows - 1), abs=windows)


def test_a_token_missing_from_the_settings_is_named(sqlite_db: str, tmp_path: Path) -> None:
    from service.core.errors import InvalidInput

    settings = make_settings(sqlite_db, tmp_path)
    with pytest.raises(InvalidInput, match="FRICTIONLOG_GITHUB_TOKEN is not set"):
        sources.run(settings, "github", REPOS, since=START, until=UNTIL)


def _cli(settings: Settings, url: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "FRICTIONLOG_DATABASE_URL": settings.database_url,
        "FRICTIONLOG_BROKER_URL": "",
        "FRICTIONLOG_GITHUB_TOKEN": "ghp-test",
        "FRICTIONLOG_SPOOL_DIR": str(settings.spool_dir),
    }
    args = ["--since", START.date().isoformat(), "--until", UNTIL.date().isoformat(), "--api-url", url]
    repos = [part for name in REPOS for part in ("--repo", name)]
    command = [sys.executable, "-m", "service.app.cli", "import", "github", *repos, *args]
    cwd = Path(__file__).resolve().parent.parent
    return subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("kill_at", [6, 40])
def test_an_import_killed_mid_page_resumes_and_loses_or_doubles_nothing(
    kill_at: int, database_url: str, tmp_path: Path
) -> None:
    """SIGKILL while the importer waits for a request in the middle of a page (a deployment's statuses;
    then later, a pull request's commits), then the same command again: the rows of one clean run."""
    repos = world()
    stand_in = GitHubStandIn(repos, trouble=lambda _p, _q, n: "hold" if n == kill_at else None)
    with serve_github(stand_in):
        settings = import_settings(database_url, tmp_path, stand_in)
        first = _cli(settings, stand_in.url)
        deadline = time.monotonic() + 60
        while len(stand_in.requests) < kill_at and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.poll() is None, first.communicate()
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)
        stand_in.release.set()
        with Session(get_engine(settings.database_url)) as session:
            kept = len(session.exec(select(InboxEvent)).all())
            checkpoints = session.exec(select(ImportCheckpoint)).all()
        assert [c for c in checkpoints if not c.done]
        stand_in.trouble = lambda _p, _q, _n: None
        before = len(stand_in.requests)
        second = _cli(settings, stand_in.url)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
        resumed_requests = len(stand_in.requests) - before
    assert stored(settings) == expected(repos)
    if kill_at == 6:  # killed on the first page: nothing was stored, the second run did it all
        assert kept == 0
    else:  # the scopes finished before the kill are not asked again
        assert "acme/checkout-api:deployments: already imported for this window" in out
        with serve_github(GitHubStandIn(repos)) as clean:
            sources.run(
                make_settings(settings.database_url, tmp_path, github_token="t"),
                "github",
                REPOS,
                since=START,
                until=UNTIL,
                api_url=clean.url,
                dry_run=True,
            )
            assert resumed_requests < len(clean.requests)


def test_a_dry_run_counts_and_stores_nothing(sqlite_db: str) -> None:
    from click.testing import CliRunner

    from service.app.cli import main
    from service.core.settings import get_settings

    with serve_github(GitHubStandIn(world())) as stand_in:
        env = {
            "FRICTIONLOG_DATABASE_URL": sqlite_db,
            "FRICTIONLOG_BROKER_URL": "",
            "FRICTIONLOG_GITHUB_TOKEN": "ghp-test",
            "FRICTIONLOG_GITHUB_API_URL": stand_in.url,
        }
        get_settings.cache_clear()
        args = ["import", "github", "--repo", REPOS[0], "--since", "2026-01-05", "--until", "2026-01-29", "--dry-run"]
        result = CliRunner(env=env).invoke(main, args, catch_exceptions=False)
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    summary = result.output.split("github: would import ", 1)[1].splitlines()[0]
    assert summary == "72 change, 12 deployment, 3 incident, 24 pull request, 69 work item reference"
    assert "skipped 1: a pull request carrying the incident label" in result.output
    with Session(get_engine(sqlite_db)) as session:
        assert session.exec(select(InboxEvent)).all() == []
        assert session.exec(select(ImportCheckpoint)).all() == []


def test_started_again_with_a_later_end_it_resumes_then_reads_only_the_rest(sqlite_db: str, tmp_path: Path) -> None:
    """As ``frictionlog import`` without ``--until`` does: the second run asks for a later end. It finishes
    the unfinished window at its cursor, then reads the rest (from a day before), and the rows are those
    of the whole history."""
    from integrations.history.client import ImportFailed

    repos = world()
    stand_in = GitHubStandIn(repos, trouble=lambda _p, _q, n: "500" if n >= 35 else None)  # in acme/ledger's pulls
    middle = START + timedelta(days=12)
    with serve_github(stand_in):
        settings = import_settings(sqlite_db, tmp_path, stand_in)
        with pytest.raises(ImportFailed):
            sources.run(settings, "github", REPOS, since=START, until=middle, client_options={"backoff_seconds": 0.0})
        stand_in.trouble = lambda _p, _q, _n: None
        before = len(stand_in.requests)
        summary = run(settings)
        listed = [(path, q) for path, q in stand_in.requests[before:] if path.endswith("/commits") and "since" in q]
        commits = {(path, q["since"], q["until"]) for path, q in listed}
        drain(settings)
    assert stored(settings) == expected(repos)
    assert not any(s.up_to_date for s in summary.scopes)
    shown = "%Y-%m-%dT%H:%M:%SZ"
    assert commits == {
        ("/repos/acme/checkout-api/commits", (middle - timedelta(days=1)).strftime(shown), UNTIL.strftime(shown)),
        ("/repos/acme/ledger/commits", START.strftime(shown), UNTIL.strftime(shown)),
    }


def test_the_token_is_in_no_log_line_and_no_message(
    sqlite_db: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    stand_in = GitHubStandIn(world(), trouble=lambda _p, _q, n: "500" if n == 3 else ("401" if n == 9 else None))
    with serve_github(stand_in):
        settings = make_settings(sqlite_db, tmp_path, github_token="ghp-secret-value-1234", github_api_url=stand_in.url)
        with pytest.raises(CredentialRefused) as refused:
            run(settings)
    assert "import.retry" in caplog.text  # the retry was logged
    assert "ghp-secret-value-1234" not in caplog.text
    assert "ghp-secret-value-1234" not in refused.value.message
