"""Sign-out ends a web session server-side (issue 26 #10): a copied cookie stops working at once, not when it
expires; "sign out everywhere" and ``frictionlog sessions revoke`` end every session of a sign-in, or all."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from service.app.cli import main
from service.app.web.app import create_app
from service.app.web.sessions import COOKIE
from service.core.settings import Settings, get_settings
from tests.factories import issue_token
from tests.fakes import RecordingWaker
from tests.test_web import csrf_of, sign_in


@pytest.fixture
def app_clients(settings: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    """Two browsers on the same app: the victim's, and the one a stolen cookie is pasted into."""
    app = create_app(settings, waker=RecordingWaker())
    with (
        TestClient(app, raise_server_exceptions=False) as victim,
        TestClient(app, raise_server_exceptions=False) as thief,
    ):
        yield victim, thief


def signed_in_page(client: TestClient) -> bool:
    answer = client.get("/data", follow_redirects=False)
    assert answer.status_code in (200, 303), answer.text
    return bool(answer.status_code == 200)


def sign_out(client: TestClient, **fields: str) -> None:
    form = client.get("/data")
    answer = client.post("/signout", data={"csrf": csrf_of(form.text), **fields}, follow_redirects=False)
    assert answer.status_code == 303


def test_a_stolen_cookie_stops_working_when_its_owner_signs_out(
    app_clients: tuple[TestClient, TestClient], settings: Settings
) -> None:
    victim, thief = app_clients
    assert sign_in(victim, issue_token(settings, "lead", ["read"])).status_code == 303
    thief.cookies.set(COOKIE, victim.cookies[COOKIE])
    assert signed_in_page(thief)  # the copy works while the session lives

    sign_out(victim)

    assert not signed_in_page(victim)
    assert not signed_in_page(thief)


def test_sign_out_everywhere_ends_every_session_of_that_sign_in_only(
    app_clients: tuple[TestClient, TestClient], settings: Settings
) -> None:
    laptop, phone = app_clients
    token = issue_token(settings, "lead", ["read"])
    assert sign_in(laptop, token).status_code == 303
    assert sign_in(phone, token).status_code == 303
    with TestClient(create_app(settings, waker=RecordingWaker()), raise_server_exceptions=False) as other:
        assert sign_in(other, issue_token(settings, "someone-else", ["read"])).status_code == 303

        sign_out(laptop, everywhere="1")

        assert not signed_in_page(phone)
        assert signed_in_page(other)


def test_sessions_revoke_signs_everyone_out(
    app_clients: tuple[TestClient, TestClient], settings: Settings, database_url: str
) -> None:
    first, second = app_clients
    assert sign_in(first, issue_token(settings, "a", ["read"])).status_code == 303
    assert sign_in(second, issue_token(settings, "b", ["admin"])).status_code == 303
    get_settings.cache_clear()
    runner = CliRunner(env={"FRICTIONLOG_DATABASE_URL": database_url, "FRICTIONLOG_BROKER_URL": ""})
    try:
        assert runner.invoke(main, ["sessions", "revoke"]).exit_code == 2  # neither --subject nor --all
        result = runner.invoke(main, ["sessions", "revoke", "--all"], catch_exceptions=False)
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert "ended 2 sessions" in result.output
    assert not signed_in_page(first)
    assert not signed_in_page(second)
