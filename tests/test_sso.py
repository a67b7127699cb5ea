"""Sign-in through any OpenID Connect provider (issue 26 #13), against a local stand-in written from the
OpenID Connect specifications (tests/sso_fake.py): the role from a configured claim, refusals of a user with
no role, of a token for another issuer or app, and of a config that would let anyone in; sign-out ends it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from pydantic import ValidationError

from service.app.cli import main
from service.app.web import sso
from service.app.web.app import create_app
from service.core.errors import Unauthenticated
from service.core.settings import Settings, get_settings
from tests.fakes import RecordingWaker
from tests.helpers import make_settings
from tests.sso_fake import SSO_CLIENT_ID, SSO_CLIENT_SECRET, fake_provider
from tests.test_web import csrf_of


def sso_settings(database_url: str, tmp_path: Path, issuer: str, **extra: Any) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        oidc_issuer=issuer,
        oidc_client_id=SSO_CLIENT_ID,
        oidc_client_secret=SSO_CLIENT_SECRET,
        oidc_admin_values=["platform-admins"],
        oidc_read_values=["engineering"],
        public_url="http://testserver",
        **extra,
    )


def round_trip(client: TestClient, target: str) -> httpx.Response:
    """Our /signin/sso → the provider's authorize (a real HTTP hop) → our callback."""
    start = client.get(f"/signin/sso?next={target}", follow_redirects=False)
    assert start.status_code == 302, start.text
    authorize = httpx.get(start.headers["location"], follow_redirects=False, timeout=5)
    assert authorize.status_code == 302
    back = urlsplit(authorize.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == "http://testserver/signin/sso/callback"
    callback: httpx.Response = client.get(f"{back.path}?{back.query}", follow_redirects=False)
    return callback


@pytest.mark.parametrize(
    ("groups", "role", "upload_page"),
    [(["engineering", "platform-admins"], "admin", 200), (["engineering"], "read", 403)],
)
def test_the_role_comes_from_the_configured_claim(
    database_url: str, tmp_path: Path, groups: list[str], role: str, upload_page: int
) -> None:
    with fake_provider(groups=groups) as provider:
        settings = sso_settings(database_url, tmp_path, provider.url)
        with TestClient(create_app(settings, waker=RecordingWaker())) as client:
            assert "Sign in with single sign-on" in client.get("/signin").text
            done = round_trip(client, "/data")
            assert (done.status_code, done.headers["location"]) == (303, "/data")
            page = client.get("/data")
            assert f"Grace Hopper · {role}" in page.text
            assert client.get("/imports/cost", follow_redirects=False).status_code == upload_page

            answer = client.post("/signout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
            assert answer.status_code == 303
            assert client.get("/data", follow_redirects=False).status_code == 303  # signed out


def test_a_user_with_no_role_and_a_token_for_another_issuer_are_refused(database_url: str, tmp_path: Path) -> None:
    with fake_provider(groups=["marketing"]) as provider:
        settings = sso_settings(database_url, tmp_path, provider.url)
        with TestClient(create_app(settings, waker=RecordingWaker())) as client:
            refused = round_trip(client, "/data")
            assert refused.status_code == 401
            assert "your account has no role here" in refused.text
            assert client.get("/data", follow_redirects=False).status_code == 303
    with fake_provider(issuer_claim="https://evil.example.com") as provider:
        settings = sso_settings(database_url, tmp_path, provider.url)
        with TestClient(create_app(settings, waker=RecordingWaker())) as client:
            refused = round_trip(client, "/data")
            assert refused.status_code == 401
            assert "the ID token is not for this app" in refused.text


def test_the_claims_are_checked(tmp_path: Path) -> None:
    settings = make_settings(
        "sqlite://",
        tmp_path,
        oidc_issuer="https://login.example.com/",
        oidc_client_id=SSO_CLIENT_ID,
        oidc_client_secret=SSO_CLIENT_SECRET,
        oidc_admin_values=["admins"],
        oidc_role_claim="roles",
    )
    good = {
        "iss": "https://login.example.com",
        "aud": [SSO_CLIENT_ID, "other"],
        "sub": "u1",
        "nonce": "n",
        "exp": time.time() + 60,
        "roles": "admins",
    }
    assert sso.identity_from_claims(settings, good, nonce="n") == sso.SsoIdentity("u1", "u1", "admin")
    changes: list[tuple[dict[str, Any], str]] = [
        ({"aud": "another-app"}, "not for this app"),
        ({"nonce": "m"}, "nonce mismatch"),
        ({"exp": time.time() - 1}, "expired"),
        ({"sub": ""}, "names no user"),
        ({"roles": ["readers"]}, "no role here"),
    ]
    for change, message in changes:
        with pytest.raises(Unauthenticated, match=message):
            sso.identity_from_claims(settings, {**good, **change}, nonce="n")


def test_a_provider_without_groups_configured_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="anyone the provider knows could sign in"):
        make_settings(
            "sqlite://",
            tmp_path,
            oidc_issuer="https://login.example.com",
            oidc_client_id=SSO_CLIENT_ID,
            oidc_client_secret=SSO_CLIENT_SECRET,
        )


def test_sessions_revoke_ends_a_single_sign_on_session(database_url: str, tmp_path: Path) -> None:
    with fake_provider(subject="00uXYZ", groups=["engineering"]) as provider:
        settings = sso_settings(database_url, tmp_path, provider.url)
        with TestClient(create_app(settings, waker=RecordingWaker())) as client:
            assert round_trip(client, "/data").status_code == 303
            assert client.get("/data", follow_redirects=False).status_code == 200
            get_settings.cache_clear()
            runner = CliRunner(env={"FRICTIONLOG_DATABASE_URL": database_url, "FRICTIONLOG_BROKER_URL": ""})
            try:
                result = runner.invoke(main, ["sessions", "revoke", "--subject", "oidc:00uXYZ"])
            finally:
                get_settings.cache_clear()
            assert "ended 1 session" in result.output, result.output
            assert client.get("/data", follow_redirects=False).status_code == 303
