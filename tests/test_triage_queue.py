"""The triage queue (issue 29 #6) over HTTP: sorting, a literal search, real paging, bulk actions through
the one triage path (CSRF, admins only), refused actions shown on the form with what was typed kept,
suggested duplicates from the theme model with a one-click merge, "next report", and themes across
services sorted by minutes lost and reporters. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.core.models import FrictionReport
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.figures.friction import themes
from service.figures.friction.reports import queue
from tests.factories import issue_token
from tests.fakes import RecordingWaker
from tests.test_web import csrf_of, sign_in
from workers.names import RETRAIN_TASK

ROW = re.compile(r'<tr tabindex="-1" data-id="(\d+)">')


def make_report(
    session: Session,
    number: int,
    text: str,
    *,
    votes: int = 1,
    minutes_lost: int | None = None,
    days_old: int = 0,
    service: str | None = "auth",
    category: str = "deploy_release",
    reporter: str | None = None,
) -> FrictionReport:
    report = FrictionReport(
        id=number,
        text=text,
        votes=votes,
        minutes_lost=minutes_lost,
        service=service,
        category=category,
        reporter=reporter,
        created_at=utcnow() - timedelta(days=days_old),
    )
    session.add(report)
    session.commit()
    return report


def shown(html: str) -> list[int]:
    return [int(n) for n in ROW.findall(html)]


@pytest.fixture
def admin(client: TestClient, settings: Settings) -> TestClient:
    sign_in(client, issue_token(settings, "lead", ["read", "admin"]))
    return client


def test_the_queue_sorts_by_votes_minutes_and_age_and_searches_literally(admin: TestClient, session: Session) -> None:
    make_report(session, 1, "helm values are 600 lines", votes=1, minutes_lost=90, days_old=9)
    make_report(session, 2, "cold starts take 40 s", votes=5, minutes_lost=None, days_old=3)
    make_report(session, 3, "quota at 100% again", votes=2, minutes_lost=15, days_old=5)
    make_report(session, 4, "quota at 1000 again", votes=1, minutes_lost=5, days_old=1)

    assert shown(admin.get("/friction/queue").text) == [2, 3, 1, 4]
    assert shown(admin.get("/friction/queue?sort=minutes").text) == [1, 3, 4, 2]
    assert shown(admin.get("/friction/queue?sort=age").text) == [1, 3, 2, 4]
    assert shown(admin.get("/friction/queue", params={"q": "QUOTA"}).text) == [3, 4]
    assert shown(admin.get("/friction/queue", params={"q": "100%"}).text) == [3]  # % is a character, not a wildcard
    assert admin.get("/friction/queue?sort=loudest").status_code == 422


def test_paging_has_a_real_link_to_the_rest_and_the_board_links_its_overflow(
    admin: TestClient, session: Session
) -> None:
    for number in range(1, 56):
        make_report(session, number, f"report number {number}", days_old=60 - number)

    first = admin.get("/friction/queue?sort=age").text
    more = re.search(r'href="([^"]+)" rel="next" id="queue-more">Show (\d+) more<', first)
    assert more is not None
    assert more.group(2) == "5"
    rest = admin.get(more.group(1).replace("&amp;", "&")).text
    assert shown(first) == list(range(1, 51))
    assert shown(rest) == list(range(51, 56))
    assert 'rel="next"' not in rest
    board = admin.get("/friction").text
    assert re.search(r'<a href="/friction/queue\?status=open&amp;sort=age">and 25 more</a>', board)


def bulk(client: TestClient, form: dict[str, str | list[str]], **fields: str) -> httpx.Response:
    csrf = csrf_of(client.get("/friction/queue").text)
    response: httpx.Response = client.post(
        "/friction/queue/bulk", data={"csrf": csrf, **form, **fields}, follow_redirects=False
    )
    return response


def test_bulk_acknowledge_recategorise_and_merge_go_through_the_triage_path(
    admin: TestClient, session: Session, waker: RecordingWaker
) -> None:
    for number in range(1, 6):
        make_report(session, number, f"rollback of auth took {40 + number} minutes", votes=2)

    acknowledged = bulk(admin, {"ids": ["1", "2"]}, action="acknowledge", q="rollback")
    recategorised = bulk(admin, {"ids": ["3"]}, action="category", category="observability_debugging")
    merged = bulk(admin, {"ids": ["3", "4", "5"]}, action="merge", merge_into="#3")

    assert acknowledged.status_code == 303
    assert acknowledged.headers["location"] == "/friction/queue?status=open&sort=votes&q=rollback&done=acknowledged"
    assert merged.status_code == recategorised.status_code == 303
    session.expire_all()
    stored = {n: session.get(FrictionReport, n) for n in range(1, 6)}
    assert [r.status for r in stored.values() if r] == ["acknowledged", "acknowledged", "open", "open", "open"]
    assert stored[3]
    assert (stored[3].category, stored[3].category_source, stored[3].votes) == ("observability_debugging", "human", 6)
    assert [r.duplicate_of for r in stored.values() if r] == [None, None, None, 3, 3]
    assert RETRAIN_TASK in waker.requested
    assert "Done: acknowledged" in admin.get(acknowledged.headers["location"]).text


def test_a_wrong_merge_number_is_shown_on_the_form_with_the_choice_kept_and_nothing_changed(
    admin: TestClient, session: Session
) -> None:
    for number in (1, 2, 3):
        make_report(session, number, f"report {number}")

    wrong = bulk(admin, {"ids": ["1", "2"]}, action="merge", merge_into="999")
    unreadable = bulk(admin, {"ids": ["1"]}, action="merge", merge_into="two")
    nothing_chosen = bulk(admin, {}, action="acknowledge")

    assert wrong.status_code == 422
    assert "Not done: no friction report #999" in wrong.text
    assert 'value="999" aria-invalid="true"' in wrong.text
    assert re.search(r'value="1"[^>]*checked', wrong.text)
    assert re.search(r'value="2"[^>]*checked', wrong.text)
    assert not re.search(r'value="3"[^>]*checked', wrong.text)
    assert unreadable.status_code == 422
    assert "give the number of the report" in unreadable.text
    assert nothing_chosen.status_code == 422
    assert "choose at least one report" in nothing_chosen.text
    session.expire_all()
    assert all((r := session.get(FrictionReport, n)) and r.duplicate_of is None for n in (1, 2, 3))


def test_bulk_needs_an_admin_and_the_csrf_token(client: TestClient, settings: Settings, session: Session) -> None:
    make_report(session, 1, "report one")
    sign_in(client, issue_token(settings, "reader", ["read"]))
    reader_page = client.get("/friction/queue").text
    csrf = csrf_of(reader_page)
    as_reader = client.post("/friction/queue/bulk", data={"csrf": csrf, "ids": "1", "action": "acknowledge"})
    sign_in(client, issue_token(settings, "lead", ["read", "admin"]))
    forged = client.post("/friction/queue/bulk", data={"ids": "1", "action": "acknowledge"})
    assert (as_reader.status_code, forged.status_code) == (403, 403)
    assert "Acknowledge chosen" not in reader_page
    assert "Acknowledge chosen" in client.get("/friction/queue").text
    session.expire_all()
    stored = session.get(FrictionReport, 1)
    assert stored is not None
    assert stored.status == "open"


def test_a_wrong_duplicate_number_on_a_report_keeps_the_form_and_a_suggestion_merges_in_one_click(
    admin: TestClient, session: Session
) -> None:
    make_report(session, 10, "Rollback of auth took 45 minutes", votes=3)
    make_report(session, 11, "rollback of auth took 45 minutes again today")
    make_report(session, 12, "Helm chart values file is 600 lines long", category="config_complexity")
    make_report(session, 13, "rollback of auth took 45 minutes", service="ledger")
    page = admin.get("/friction/11").text
    csrf = csrf_of(page)

    wrong = admin.post("/friction/11/triage", data={"csrf": csrf, "action": "duplicate", "duplicate_of": "#4242"})
    suggestion = re.search(
        r'<form method="post" action="/friction/(\d+)/triage">.*?name="duplicate_of" value="(\d+)">', page, re.S
    )
    assert suggestion is not None
    merged = admin.post(
        f"/friction/{suggestion.group(1)}/triage",
        data={"csrf": csrf, "action": "duplicate", "duplicate_of": suggestion.group(2)},
        follow_redirects=False,
    )

    assert "#10" in page.split("Possibly the same as")[1].split("</ul>")[0]
    assert "#12" not in page.split("Possibly the same as")[1].split("</ul>")[0]  # another problem
    assert "#13" not in page.split("Possibly the same as")[1].split("</ul>")[0]  # another service
    assert wrong.status_code == 422
    assert "Not done: no friction report #4242" in wrong.text
    assert 'value="#4242" aria-invalid="true"' in wrong.text
    assert (suggestion.group(1), suggestion.group(2)) == ("11", "10")
    assert merged.headers["location"] == "/friction/11?done=duplicate"
    session.expire_all()
    original, copy = session.get(FrictionReport, 10), session.get(FrictionReport, 11)
    assert original
    assert copy
    assert (copy.duplicate_of, original.votes) == (10, 4)
    after = admin.get(merged.headers["location"]).text
    assert 'id="next-report">Next report: #10' in after


def test_themes_across_services_join_one_problem_and_sort_by_minutes_then_reporters() -> None:
    frame = pd.DataFrame(
        [
            (1, "helm values file is 600 lines", "auth", "config_iac", "U1", 1, 30),
            (2, "the helm values file is 600 lines long", "ledger", "config_iac", "U2", 1, 30),
            (3, "cold starts take 40 s", "ml-api", "deploy_release", "U3", 1, 100),
            (4, "cold starts take 40 seconds", "ml-api", "deploy_release", "U3", 1, 10),
            (5, "gpu quota request took 3 days", "ml-api", "access", "U4", 1, 900),
        ],
        columns=["id", "text", "service", "category", "reporter", "votes", "minutes_lost"],
    )

    per_service = themes.group(frame)
    across = themes.costliest(themes.group(frame, per_service=False))

    assert sorted(t.report_ids for t in per_service if t.category == "config_iac") == [[1], [2]]
    assert [(t.report_ids, t.services, t.minutes_lost, t.reporters) for t in across] == [
        ([3, 4], ["ml-api"], 110, 1),
        ([1, 2], ["auth", "ledger"], 60, 2),
    ]  # the lone 900-minute report is no theme


def test_the_queue_reads_one_page_and_the_total(session: Session) -> None:
    for number in range(1, 8):
        make_report(session, number, f"text {number}", votes=number)
    page = queue(session, sort="votes", limit=3, offset=3)
    assert [r.id for r in page.rows] == [4, 3, 2]
    assert (page.total, page.remaining) == (7, 1)


def test_an_empty_queue_says_so_and_offers_no_more(admin: TestClient) -> None:
    page = admin.get("/friction/queue", params={"q": "nothing like this"})
    assert page.status_code == 200
    assert "Nothing open matches “nothing like this”" in page.text
    assert 'rel="next"' not in page.text
