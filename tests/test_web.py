"""The web app over HTTP (no browser): sessions, CSRF, roles, Slack sign-in against a local OpenID Connect
stand-in, triage and replay through the shared functions, escaping, 404s. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import stat
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from integrations.slack.digest_blocks import digest_blocks
from service.app.web import oidc
from service.app.web.app import create_app
from service.app.web.sessions import COOKIE, KEY_FILE, safe_next, session_secret
from service.app.web.words import plural
from service.core import tokens, vocab
from service.core.db import session_scope
from service.core.errors import Unauthenticated
from service.core.models import FrictionReport, InboxEvent
from service.core.settings import Settings
from service.digest.models import DigestContent
from service.ingest import inbox
from tests.factories import issue_token, make_deployment
from tests.fakes import RecordingWaker
from tests.helpers import get_ready, make_settings, slack_report_delivery
from tests.oidc_fake import CLIENT_ID, CLIENT_SECRET, TEAM_ID, fake_slack_oidc
from workers.names import NOTIFY_TASK, RETRAIN_TASK
from workers.process import drain

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, secret: str, target: str = "/") -> httpx.Response:
    form = client.get("/signin")
    response: httpx.Response = client.post(
        "/signin", data={"token": secret, "csrf": csrf_of(form.text), "next": target}, follow_redirects=False
    )
    return response


def file_slack_report(settings: Settings, reporter: str, text: str = "Cold starts take 40 s on ml-api") -> int:
    """A report as the Slack listeners file it (the only kind whose reporter is a Slack user to DM)."""
    with session_scope(settings.database_url, write=True) as session:
        accepted = inbox.accept(session, [slack_report_delivery(text, reporter)])[0]
    drain(settings)
    assert accepted.id is not None  # written to the inbox, not spooled
    return accepted.id


def file_report(client: TestClient, headers: dict[str, str], settings: Settings, **body: Any) -> int:
    body = {"text": "Cold starts take 40 s on ml-api", **body}
    response = client.post("/api/v1/friction", json=body, headers=headers)
    assert response.status_code == 202
    drain(settings)
    number: int = response.json()["id"]
    return number


@pytest.fixture
def admin_secret(settings: Settings) -> str:
    return issue_token(settings, "lead", ["ingest", "read", "admin"])


@pytest.fixture
def read_secret(settings: Settings) -> str:
    return issue_token(settings, "leader", ["read"])


def test_pages_send_a_visitor_to_sign_in_and_then_to_the_page_asked_for(client: TestClient, admin_secret: str) -> None:
    first = client.get("/services?team=core", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/signin?next=%2Fservices%3Fteam%3Dcore"

    signed = sign_in(client, admin_secret, target="/services?team=core")

    assert signed.status_code == 303
    assert signed.headers["location"] == "/services?team=core"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # plain http on localhost
    assert admin_secret not in cookie
    assert client.get("/services").status_code == 200


def test_next_never_leaves_the_site() -> None:
    assert [safe_next(t) for t in ("/friction?x=1", "//evil.example", "https://evil.example", "/\\evil", None)] == [
        "/friction?x=1",
        "/",
        "/",
        "/",
        "/",
    ]


def test_the_cookie_is_secure_behind_tls(database_url: str, tmp_path: Path, admin_secret: str) -> None:
    settings = make_settings(database_url, tmp_path, public_url="https://frictionlog.example.com")
    with TestClient(create_app(settings, waker=RecordingWaker()), base_url="https://testserver") as client:
        assert "Secure" in sign_in(client, admin_secret).headers["set-cookie"]


def test_a_wrong_or_ingest_only_token_does_not_sign_in(client: TestClient, settings: Settings) -> None:
    ingest_only = issue_token(settings, "ci", ["ingest"])

    for secret in ("fl_not-a-token", ingest_only):
        answer = sign_in(client, secret)
        assert answer.status_code == 401
        assert "not valid" in answer.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_post_without_the_csrf_token_is_refused(
    client: TestClient, admin_secret: str, settings: Settings, session: Session
) -> None:
    number = file_report(client, {"Authorization": f"Bearer {admin_secret}"}, settings, reporter="U1")
    sign_in(client, admin_secret)

    forged = client.post(f"/friction/{number}/triage", data={"action": "acknowledge"})
    wrong = client.post(f"/friction/{number}/triage", data={"action": "acknowledge", "csrf": "guess"})
    no_csrf_sign_in = client.post("/signin", data={"token": admin_secret})

    assert (forged.status_code, wrong.status_code, no_csrf_sign_in.status_code) == (403, 403, 403)
    assert "did not come from this site" in forged.text
    session.expire_all()
    report = session.get(FrictionReport, number)
    assert report is not None
    assert report.status == "open"


def test_a_read_user_sees_the_report_but_no_triage_and_is_refused_it(
    client: TestClient, admin_secret: str, read_secret: str, settings: Settings, session: Session
) -> None:
    number = file_report(client, {"Authorization": f"Bearer {admin_secret}"}, settings, reporter="U1")
    sign_in(client, read_secret)

    page = client.get(f"/friction/{number}")
    refused = client.post(
        f"/friction/{number}/triage", data={"action": "resolve", "note": "done", "csrf": csrf_of(page.text)}
    )

    assert page.status_code == 200
    assert "Cold starts take 40 s" in page.text
    assert "/triage" not in page.text
    assert refused.status_code == 403
    session.expire_all()
    report = session.get(FrictionReport, number)
    assert report is not None
    assert report.status == "open"


def test_triage_on_the_board_learns_moves_votes_and_tells_the_reporter_through_the_shared_path(
    client: TestClient, admin_secret: str, settings: Settings, session: Session, waker: RecordingWaker
) -> None:
    original = file_slack_report(settings, "U1")
    copy = file_slack_report(settings, "U2", "cold starts are 40s again")
    sign_in(client, admin_secret)
    csrf = csrf_of(client.get(f"/friction/{original}").text)

    def act(number: int, **form: str) -> httpx.Response:
        response: httpx.Response = client.post(
            f"/friction/{number}/triage", data={"csrf": csrf, **form}, follow_redirects=False
        )
        return response

    assert act(original, action="category", category="deploy_release").status_code == 303
    assert act(copy, action="duplicate", duplicate_of=f"#{original}").status_code == 303
    empty_note = act(original, action="resolve", note="  ")
    resolved = act(original, action="resolve", note="Pre-warmed pools are on")

    assert empty_note.status_code == 422
    assert resolved.headers["location"] == f"/friction/{original}?done=resolve"
    session.expire_all()
    report = session.get(FrictionReport, original)
    assert report is not None
    assert (report.category, report.category_source, report.status, report.votes) == (
        "deploy_release",
        "human",
        "resolved",
        2,
    )
    assert report.resolution_note == "Pre-warmed pools are on"
    assert RETRAIN_TASK in waker.requested
    assert waker.requested.count(NOTIFY_TASK) == 1
    assert "resolved; the reporter is told in Slack" in client.get(resolved.headers["location"]).text


def test_an_anonymous_report_shows_no_identity_and_user_text_is_escaped(
    client: TestClient, admin_secret: str, settings: Settings
) -> None:
    headers = {"Authorization": f"Bearer {admin_secret}"}
    hostile = file_report(client, headers, settings, text="<script>alert(1)</script> deploys hang", reporter="U1")
    anonymous = file_report(client, headers, settings, reporter="USECRET", anonymous=True)
    sign_in(client, admin_secret)

    board = client.get("/friction").text
    page = client.get(f"/friction/{anonymous}").text

    assert "<script>alert(1)</script>" not in board
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in board
    assert f"/friction/{hostile}" in board
    assert "USECRET" not in page
    assert "USECRET" not in board
    assert "anonymous" in page


def test_replay_from_the_data_page_requeues_the_failed_event_and_wakes_the_worker(
    client: TestClient, admin_secret: str, settings: Settings, session: Session, waker: RecordingWaker
) -> None:
    client.post("/webhooks/generic", json=make_deployment(), headers={"Authorization": f"Bearer {admin_secret}"})
    row = session.exec(select(InboxEvent)).one()
    row.status, row.error = "failed", "invalid: a parser bug since fixed"
    session.commit()
    sign_in(client, admin_secret)
    page = client.get("/data")
    assert "a parser bug since fixed" in page.text
    before = waker.wakes

    answer = client.post("/data/replay", data={"event_id": str(row.id), "csrf": csrf_of(page.text)})
    drain(settings)

    assert answer.status_code == 200
    assert f"Event #{row.id} is queued again" in answer.text
    assert waker.wakes == before + 1
    session.expire_all()
    assert session.exec(select(InboxEvent.status)).one() == "processed"


def test_embedded_mode_keeps_its_session_key_so_a_restart_signs_nobody_out(
    settings: Settings, read_secret: str
) -> None:
    """Two app lifetimes on one var/: the cookie of the first reads the second's pages."""
    assert settings.embedded
    assert settings.session_secret is None
    with TestClient(create_app(settings, waker=RecordingWaker())) as first:
        assert sign_in(first, read_secret).status_code == 303
        cookie = first.cookies.get(COOKIE)
    key = settings.spool_dir.parent / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    with TestClient(create_app(settings, waker=RecordingWaker())) as second:
        second.cookies.set(COOKIE, str(cookie))
        assert second.get("/services", follow_redirects=False).status_code == 200
    distributed = settings.model_copy(update={"broker_url": "redis://127.0.0.1:6379/15"})
    assert session_secret(distributed) != session_secret(distributed)  # unset there: one per process, as before


def test_a_revoked_token_ends_its_session(client: TestClient, settings: Settings, read_secret: str) -> None:
    sign_in(client, read_secret)
    assert client.get("/data").status_code == 200
    with session_scope(settings.database_url, write=True) as db:
        tokens.revoke_token(db, name="leader")

    assert client.get("/data", follow_redirects=False).status_code == 303


def test_unknown_pages_get_the_framed_404_and_api_paths_keep_json(client: TestClient, read_secret: str) -> None:
    sign_in(client, read_secret)
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}

    page = client.get("/no/such/page", headers=browser)
    report = client.get("/friction/2147483000")
    tool = client.get("/no/such/page")
    api = client.get("/api/v1/no-such-thing", headers=browser)

    assert page.status_code == 404
    assert "<nav" in page.text
    assert "There is no page here" in page.text
    assert report.status_code == 404
    assert "There is no friction report #2147483000" in report.text
    assert (tool.status_code, tool.json()["error"]["code"]) == (404, "not_found")
    assert (api.status_code, api.json()["error"]["code"]) == (404, "not_found")


def test_every_page_renders_for_an_empty_install_with_what_to_connect_next(
    client: TestClient, read_secret: str
) -> None:
    sign_in(client, read_secret)

    paths = ("/", "/services", "/friction", "/friction/themes", "/digests", "/data")
    texts = {path: get_ready(client, path) for path in paths}

    assert {path: r.status_code for path, r in texts.items()} == dict.fromkeys(texts, 200)
    assert "Connect your CI/CD" in texts["/"].text
    assert "No services in the catalogue yet" in texts["/services"].text
    assert "No friction reported yet" in texts["/friction"].text


def test_the_slack_digest_links_to_the_app_by_its_public_url_without_a_token() -> None:
    content = {
        "week": "2026-W44",
        "audience": "team:payments",
        "from": "2026-10-26T00:00:00+00:00",
        "to": "2026-11-02T00:00:00+00:00",
        "summary": "A quiet week.",
        "empty": False,
        "headline": [],
        "migration": None,
        "friction": {
            "new": 0,
            "last_week": 0,
            "hours_lost": 0.0,
            "top_categories": [],
            "rising_themes": [],
            "quotes": [],
            "you_said_we_did": [],
        },
        "charts": {"weeks": [], "deploys": {}, "incidents": {}, "friction_by_category": {}},
        "definitions_version": "1",
    }

    _, blocks = digest_blocks(DigestContent.model_validate(content), public_url="https://frictionlog.example.com/")

    link = blocks[-1]["elements"][0]["text"]
    assert "<https://frictionlog.example.com/digests/2026-W44?audience=team%3Apayments|" in link
    assert "token" not in link


def test_plurals() -> None:
    assert [plural(1, "incident"), plural(0, "incident"), plural(2, "person"), plural(1200, "event")] == [
        "1 incident",
        "0 incidents",
        "2 people",
        "1,200 events",
    ]
    assert [plural(1.0, "hour"), plural(6.5, "hour"), plural(None, "report")] == ["1 hour", "6.5 hours", "0 reports"]


# Sign in with Slack, against the local OpenID Connect stand-in.


def slack_settings(database_url: str, tmp_path: Path, url: str, **extra: Any) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        slack_oidc_url=url,
        slack_team_id=TEAM_ID,
        slack_admins=["UADMIN"],
        public_url="http://testserver",
        **extra,
    )


def slack_round_trip(client: TestClient, target: str) -> httpx.Response:
    """Our /signin/slack → the stand-in's authorize (a real HTTP hop) → our callback."""
    start = client.get(f"/signin/slack?next={target}", follow_redirects=False)
    assert start.status_code == 302
    authorize = httpx.get(start.headers["location"], follow_redirects=False, timeout=5)
    assert authorize.status_code == 302
    back = urlsplit(authorize.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == "http://testserver/signin/slack/callback"
    callback: httpx.Response = client.get(f"{back.path}?{back.query}", follow_redirects=False)
    return callback


@pytest.mark.parametrize(("user", "role", "triage_forms"), [("UADMIN", "admin", True), ("UREADER", "read", False)])
def test_sign_in_with_slack_makes_admins_of_the_configured_admins_only(
    database_url: str, tmp_path: Path, user: str, role: str, triage_forms: bool
) -> None:
    with fake_slack_oidc(user_id=user, name="Grace Hopper") as slack:
        settings = slack_settings(database_url, tmp_path, slack.url)
        ingest = issue_token(settings, "ci", ["ingest"])
        with TestClient(create_app(settings, waker=RecordingWaker())) as client:
            number = file_report(client, {"Authorization": f"Bearer {ingest}"}, settings, reporter="U9")
            assert "Sign in with Slack" in client.get("/signin").text

            done = slack_round_trip(client, f"/friction/{number}")

            assert done.status_code == 303
            assert done.headers["location"] == f"/friction/{number}"
            page = client.get(f"/friction/{number}").text
            assert f"Grace Hopper · {role}" in page
            assert ("/triage" in page) is triage_forms
        form = slack.token_requests[0]
        assert (form["grant_type"], form["redirect_uri"]) == (
            "authorization_code",
            "http://testserver/signin/slack/callback",
        )


def test_a_slack_callback_with_a_forged_state_or_another_workspace_is_refused(
    database_url: str, tmp_path: Path
) -> None:
    with fake_slack_oidc(team_id="TOTHER") as slack:
        settings = slack_settings(database_url, tmp_path, slack.url)
        with TestClient(create_app(settings, waker=RecordingWaker())) as client:
            client.get("/signin/slack", follow_redirects=False)
            forged = client.get("/signin/slack/callback?code=abc&state=forged", follow_redirects=False)
            other_team = slack_round_trip(client, "/")

            assert forged.status_code == 400
            assert other_team.status_code == 401
            assert "workspace may not sign in" in other_team.text
            assert client.get("/", follow_redirects=False).status_code == 303


def test_id_token_claims_are_checked(settings: Settings) -> None:
    base = settings.model_copy(update={"slack_client_id": CLIENT_ID, "slack_team_id": None})
    good = {
        "iss": "https://slack.com",
        "aud": CLIENT_ID,
        "nonce": "n1",
        "exp": time.time() + 60,
        "https://slack.com/user_id": "U1",
        "name": "Ada",
    }

    assert oidc.identity_from_claims(base, good, nonce="n1").user_id == "U1"
    for bad in ({"aud": "someone-else"}, {"iss": "https://evil.example"}, {"nonce": "n2"}, {"exp": time.time() - 1}):
        with pytest.raises(Unauthenticated):
            oidc.identity_from_claims(base, {**good, **bad}, nonce="n1")


def test_the_authorize_url_is_slacks_documented_one(settings: Settings) -> None:
    base = settings.model_copy(update={"slack_client_id": CLIENT_ID, "public_url": "https://fl.example.com"})

    url, state = oidc.start(base)

    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://slack.com/openid/connect/authorize"
    assert query["response_type"] == "code"
    assert query["scope"] == "openid profile"
    assert query["redirect_uri"] == "https://fl.example.com/signin/slack/callback"
    assert (query["state"], query["nonce"]) == (state["state"], state["nonce"])


def test_a_chart_shows_each_value_on_hover_and_in_its_table_and_escapes_its_text() -> None:
    from service.digest.charts import Series, points_with_intervals, weekly

    svg = str(
        weekly(
            "Deploys <b>",
            ["2026-W40", "2026-W41"],
            [Series("legacy", [3, 0], "s-legacy"), Series("<new>", [1, 12], "s-migrated")],
            unit="deploy",
            chart_id="c1",
        )
    )
    study = str(
        points_with_intervals("Study", ["-1", "+0"], [0.1, -0.5], [None, -0.9], [None, -0.1], unit="", chart_id="c2")
    )

    titles = re.findall(r"<title>([^<]*)</title>", svg)
    assert titles == [
        "2026-W40 · legacy: 3 deploys",
        "2026-W40 · &lt;new&gt;: 1 deploy",
        "2026-W41 · &lt;new&gt;: 12 deploys",
    ]
    assert "<b>" not in svg
    assert "Deploys &lt;b&gt;" in svg
    assert re.findall(r'class="tick"[^>]*>([\d,.]+)</text>', svg)[:4] == ["0", "5", "10", "15"]
    assert "<td>12</td>" in svg
    assert "+0: -0.50 (90 % interval -0.90 to -0.10)" in study


def test_the_page_memo_serves_the_last_answer_while_it_recomputes_for_new_data() -> None:
    from service.app.web.cache import PageMemo

    cache = PageMemo()
    calls: list[int] = []

    def compute(value: int) -> Any:
        def run() -> int:
            calls.append(value)
            return value

        return run

    assert cache.remember("k", 1, compute(10)) == 10
    assert cache.remember("k", 1, compute(99)) == 10  # same data version: no recompute
    assert cache.remember("k", 2, compute(20)) == 10  # new data: the last answer while the new one computes
    deadline = time.monotonic() + 5
    while cache.remember("k", 2, compute(99)) != 20:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    cache.clear()
    assert cache.remember("k", 2, compute(30)) == 30
    assert calls == [10, 20, 30]


def test_the_services_table_shows_the_digests_own_before_after_per_service_and_sorts_gaps_last() -> None:
    from datetime import UTC, datetime

    from service.app.web.tables import ServiceFacts, changes_from_digest, service_rows, sort_rows

    def effect(metric: str, before: float, after: float, relative: float) -> dict[str, Any]:
        change = {"service": "ml-api", "moved_on": "2026-10-12", "before": before, "after": after, "relative": relative}
        return {"metric": metric, "label": metric, "before": before, "after": after, "relative": relative,
                "low": None, "high": None, "services": 1, "verdict": "changed", "sentence": "",
                "per_service": [change]}  # fmt: skip

    content = DigestContent.model_validate(
        {
            "week": "2026-W41",
            "audience": "leaders",
            "from": "2026-10-05T00:00:00+00:00",
            "to": "2026-10-12T00:00:00+00:00",
            "empty": False,
            "summary": "",
            "headline": [],
            "migration": {
                "name": "to-new",
                "services_total": 2,
                "services_migrated": 1,
                "cohorts_over": "the last 4 weeks",
                "cohorts": {},
                "before_after": [
                    effect("deploys", 2.0, 4.0, 1.0),
                    effect("compute_cost", 9.0, 1.0, -0.9),  # not a column of the table
                ],
            },
            "friction": {
                "new": 0,
                "last_week": 0,
                "hours_lost": 0.0,
                "top_categories": [],
                "rising_themes": [],
                "quotes": [],
                "you_said_we_did": [],
            },  # fmt: skip
            "charts": {"weeks": [], "deploys": {}, "incidents": {}, "friction_by_category": {}},
            "definitions_version": "1",
        }
    )
    moved = ServiceFacts("ml-api", "growth", "1", "new", datetime(2026, 10, 7, 12, tzinfo=UTC))
    not_moved = ServiceFacts("auth", "core", None, "legacy", None)
    changes = changes_from_digest(content)
    assert changes == {"ml-api": {"deploys": {"before": 2.0, "after": 4.0, "relative": 1.0}}}
    rows = service_rows([not_moved, moved], changes)
    assert [r["change"] for r in rows] == [None, changes["ml-api"]]
    assert [r["facts"].slug for r in sort_rows(rows, "deploys", True)] == ["ml-api", "auth"]
    assert [r["facts"].slug for r in sort_rows(rows, "lead_time", True)] == ["auth", "ml-api"]  # no value: as is
    assert changes_from_digest(None) == {}
    assert changes_from_digest(content.model_copy(update={"migration": None})) == {}


def test_the_overview_and_the_framed_digest_show_the_real_digest_content_with_claims_linked_to_services(
    client: TestClient, admin_secret: str, settings: Settings
) -> None:
    """The content as issue 13's models shape it (validated by them): the top-level verdict, criteria with
    status and moved goalposts, per-metric event study with its band, per-service rows linked to their
    pages, warnings; the same parts on the overview and on /digests/{week}. User text stays escaped."""
    from service.core.timeutil import utcnow
    from service.core.weeks import last_full_week
    from service.digest.build import keep

    headers = {"Authorization": f"Bearer {admin_secret}"}
    body = {"team": "growth", "platforms": [{"platform": "new", "effective_from": "2026-01-05T00:00:00Z"}]}
    assert client.put("/api/v1/services/ml-api", json=body, headers=headers).status_code == 200
    migration = {
        "name": "to-new",
        "from_platform": "legacy",
        "to_platform": "new",
        "started_at": "2026-01-01T00:00:00Z",
    }
    assert client.post("/api/v1/migrations", json=migration, headers=headers).status_code == 201
    week = last_full_week(utcnow(), settings.timezone)
    effect = {
        "metric": "deploys",
        "label": "Deploys per week",
        "before": 2.0,
        "after": 3.0,
        "relative": 0.52,
        "low": 0.3,
        "high": 0.7,
        "services": 1,
        "verdict": "changed",
        "sentence": "Deploys per week: +52% against the counterfactual (90 % interval +30% to +70%).",
        "method": "staggered_did",
        "controls": 2,
        "pre_trend": {"status": "parallel"},
        "unit": "per week",
        "higher_is_better": True,
        "mde_relative": 0.2,
        "event_study": [
            {"week": -1, "relative": 0.0, "low": -0.1, "high": 0.1, "services": 1},
            {"week": 0, "relative": 0.4, "low": 0.2, "high": 0.6, "services": 1},
            {"week": 1, "relative": 0.5, "low": 0.3, "high": 0.7, "services": 1},
        ],
        "per_service": [{"service": "ml-api", "moved_on": "2026-01-05", "before": 2.0, "after": 3.0, "relative": 0.5}],
    }
    criterion = {
        "metric": "deploys",
        "label": "Deploys per week",
        "goal": "Deploys per week at least +25%",
        "direction": "at_least",
        "kind": "relative",
        "target": 0.25,
        "deadline": None,
        "status": "met",
        "estimate": 0.52,
        "low": 0.3,
        "high": 0.7,
        "sentence": "Deploys per week at least +25%: met.",
    }
    change = {
        "subject": "criterion deploys",
        "action": "changed",
        "before": {"target": 0.5},
        "after": {"target": 0.25},
        "changed_by": "lead",
        "changed_at": "2026-02-01T00:00:00Z",
        "sentence": "The deploys target was lowered from +50% to +25% <b>after</b> the start.",
    }
    cohort = {"services": 1, "deployment_frequency": 3.0, "lead_time": 5.0, "change_failure_rate": 10.0,
              "time_to_restore": 1.0, "incidents": 0.0, "low_sample": True}  # fmt: skip
    content = DigestContent.model_validate(
        {
            "week": week,
            "audience": "leaders",
            "from": "2026-01-01T00:00:00+00:00",
            "to": "2026-01-08T00:00:00+00:00",
            "empty": False,
            "summary": "12 deploys.",
            "verdict": ["The migration is working: 1 of 1 criteria met.", "Lead time: no clear change."],
            "headline": [],
            "migration": {
                "name": "to-new",
                "services_total": 1,
                "services_migrated": 1,
                "cohorts_over": "4 weeks",
                "cohorts": {"migrated": cohort, "not_migrated": {**cohort, "services": 0}},
                "before_after": [effect],
                "criteria": [criterion],
                "criteria_changes": [change],
            },
            "friction": {
                "new": 1,
                "last_week": 0,
                "hours_lost": 2.0,
                "top_categories": [],
                "rising_themes": [
                    {"title": "Cold starts", "service": "ml-api", "reports": 3, "example": "40 s <i>cold</i>"}
                ],
                "quotes": ["<script>alert(1)</script>"],
                "you_said_we_did": [],
            },  # fmt: skip
            "charts": {
                "weeks": [week],
                "deploys": {"migrated": [12], "not_migrated": [0]},
                "incidents": {"migrated": [1], "not_migrated": [0]},
                "lead_time": {"migrated": [4.5], "not_migrated": [None]},
                "friction_by_category": {},
            },
            "warnings": [{"code": "unlinked", "message": "3 incidents not linked to a deployment", "count": 3}],
            "definitions_version": "1",
        }
    )
    with session_scope(settings.database_url, write=True) as db:
        keep(db, week=week, audience="leaders", channel=None, content=content, html="")
    sign_in(client, admin_secret)

    overview, framed = get_ready(client, "/").text, get_ready(client, f"/digests/{week}").text

    for page in (overview, framed):
        for text in (
            "The migration is working: 1 of 1 criteria met.",
            "Lead time: no clear change.",
            "Deploys per week at least +25%",
            "<b>met</b>",  # the status, from the digest's one criteria renderer
            "lowered from +50% to +25% &lt;b&gt;after&lt;/b&gt; the start.",  # moved goalposts, escaped
            "3 incidents not linked to a deployment",
            "Event study: Deploys per week, effect by weeks since the move",
            "+1: +50% (90 % interval +30% to +70%)",  # a point's value on hover, with its band
            'class="band"',
            "staggered DiD",
            '<a href="/services/ml-api">ml-api</a>',  # the claim's per-service row links to the service
            f"{vocab.metric('lead_time').chart_label}, migrated vs not yet migrated",  # the one chart label
        ):
            assert text in page, text
    assert "<script>alert(1)</script>" not in framed
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in framed
    assert "In engineers’ words this week" in framed
    assert "Cohorts over 4 weeks" in overview
    assert "Cohorts over 4 weeks" in framed
    assert 'on <a href="/services/ml-api">ml-api</a>, 3 reports — for example:' in framed
    assert "“40 s &lt;i&gt;cold&lt;/i&gt;”" in framed


def test_an_admin_edits_a_service_through_the_catalogue_function_and_a_reader_cannot(
    client: TestClient, admin_secret: str, read_secret: str, session: Session
) -> None:
    from service.core.models import Service
    from service.figures import catalogue

    headers = {"Authorization": f"Bearer {admin_secret}"}
    body = {
        "team": "growth",
        "tier": "2",
        "platforms": [{"platform": "legacy", "effective_from": "2025-01-01T00:00:00Z"}],
    }
    assert client.put("/api/v1/services/ml-api", json=body, headers=headers).status_code == 200
    sign_in(client, read_secret)
    as_reader = client.get("/services/ml-api").text
    refused = client.post(
        "/services/ml-api", data={"team": "x", "tier": "", "platforms": "", "csrf": csrf_of(as_reader)}
    )
    client.cookies.clear()
    sign_in(client, admin_secret)
    form = {"team": "ml-platform", "tier": "1", "platforms": "legacy 2025-01-01\nnew 2026-09-28", "csrf": ""}
    form["csrf"] = csrf_of(client.get("/services/ml-api").text)
    bad = client.post("/services/ml-api", data={**form, "platforms": "new"})
    saved = client.post("/services/ml-api", data=form)

    assert "Edit the catalogue entry" not in as_reader
    assert refused.status_code == 403
    assert bad.status_code == 422
    assert saved.status_code == 200
    assert "Saved." in saved.text
    session.expire_all()
    service = session.get(Service, "ml-api")
    assert service is not None
    assert (service.team, service.tier) == ("ml-platform", "1")
    history = [(p.platform, p.effective_from.date().isoformat()) for p in catalogue.platform_history(session, "ml-api")]
    assert history == [("legacy", "2025-01-01"), ("new", "2026-09-28")]


def test_a_digest_not_kept_yet_is_built_in_the_background_and_the_page_says_so_until_it_is_ready(
    client: TestClient, read_secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader never waits seconds for a build: the framed page reloads itself (no JavaScript needed), the
    standalone page answers 503 with Retry-After, and both show the digest once it is built."""
    import threading

    from service.app.web import reads
    from service.digest.build import build as real_build  # what reads.build is until patched

    release = threading.Event()

    def slow_build(*args: Any, **kwargs: Any) -> Any:
        assert release.wait(30)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(reads, "build", slow_build)
    sign_in(client, read_secret)
    framed = client.get("/digests/2026-W40")
    standalone = client.get("/digests/2026-W40/html")
    assert framed.status_code == 200
    assert '<meta http-equiv="refresh" content="3">' in framed.text
    assert "being prepared" in framed.text
    assert standalone.status_code == 503
    assert standalone.headers["Retry-After"] == "3"
    release.set()
    ready = get_ready(client, "/digests/2026-W40")
    assert 'http-equiv="refresh"' not in ready.text
    assert "Digest 2026-W40" in ready.text
    assert get_ready(client, "/digests/2026-W40/html").status_code == 200


@pytest.mark.parametrize("path", ["/digests/2026-W99", "/digests/2026-W40?audience=bogus", "/?week=2026-W00"])
def test_a_digest_no_week_or_audience_can_have_is_a_clear_4xx_not_a_page_that_waits_forever(
    client: TestClient, read_secret: str, path: str
) -> None:
    sign_in(client, read_secret)
    answer = client.get(path)
    assert 400 <= answer.status_code < 500
    assert 'http-equiv="refresh"' not in answer.text


def test_the_start_up_warm_up_memoises_the_first_service_page_and_no_other(
    client: TestClient, admin_secret: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The warm-up computes the first catalogue service's figures; that service's first visit then reads
    the memo, while another service's page is still computed on its first visit."""
    from service.app.web import warm
    from service.app.web.cache import PageMemo
    from service.app.web.pages import services

    headers = {"Authorization": f"Bearer {admin_secret}"}
    for slug in ("a-first", "b-second"):
        body = {"team": "growth", "platforms": [{"platform": "new", "effective_from": "2026-01-05T00:00:00Z"}]}
        assert client.put(f"/api/v1/services/{slug}", json=body, headers=headers).status_code == 200
    memo = PageMemo()
    warm.warm(settings, memo)
    computed: list[str] = []
    real = services._figures

    def counting(settings_: Any, slug: str) -> Any:
        computed.append(slug)
        return real(settings_, slug)

    monkeypatch.setattr(services, "_figures", counting)
    with session_scope(settings.database_url) as session:
        first = services.service_figures(settings, memo, session, "a-first")
        services.service_figures(settings, memo, session, "b-second")
    assert computed == ["b-second"]
    assert first[1][0] < first[1][1]  # the memoised figures are a real four-week window
