"""A local stand-in for an OpenID Connect provider (Keycloak, Okta, Entra ID, Google Workspace all behave so),
written from OpenID Connect Core 1.0 and Discovery 1.0: ``GET /.well-known/openid-configuration`` names the
issuer and endpoints; ``GET /authorize`` sends the browser back to ``redirect_uri`` with a code and the state;
``POST /token`` (form: grant_type, code, redirect_uri, client_id, client_secret — ``client_secret_post``)
answers ``{"access_token", "token_type": "Bearer", "expires_in", "id_token"}``, the ID token carrying ``iss``,
``sub``, ``aud``, ``exp``, ``iat``, ``nonce``, ``name``, ``email`` and the user's ``groups``."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tests.oidc_fake import id_token
from tests.standin import JsonHandler, serving

SSO_CLIENT_ID = "frictionlog-web"
SSO_CLIENT_SECRET = "sso-client-secret-0f9a"


@dataclass
class FakeProvider:
    subject: str = "00u1a2b3c4"
    name: str = "Grace Hopper"
    groups: list[str] = field(default_factory=lambda: ["platform-admins"])
    issuer_claim: str | None = None
    """An ID token naming another issuer than the discovery document (a mix-up attack), when set."""
    url: str = ""
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def claims(self, nonce: str) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.issuer_claim or self.url,
            "sub": self.subject,
            "aud": SSO_CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "nonce": nonce,
            "name": self.name,
            "email": "grace@example.com",
            "groups": self.groups,
        }


def _handler(fake: FakeProvider) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:  # http.server's name
            path, query = self.path_and_query()
            if path == "/.well-known/openid-configuration":
                self.reply(
                    200,
                    {
                        "issuer": fake.url,
                        "authorization_endpoint": f"{fake.url}/authorize",
                        "token_endpoint": f"{fake.url}/token",
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                    },
                )
                return
            if path != "/authorize" or query.get("client_id") != SSO_CLIENT_ID or query.get("response_type") != "code":
                self.reply(400, {"error": "invalid_request"})
                return
            code = secrets.token_urlsafe(16)
            with fake.lock:
                fake.codes[code] = {"nonce": query.get("nonce", ""), "redirect_uri": query["redirect_uri"]}
            self.send_response(302)
            self.send_header(
                "Location", f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
            )
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            form = self.form()
            with fake.lock:
                issued = fake.codes.pop(form.get("code", ""), None)
            if self.path != "/token":
                self.reply(404, {"error": "not_found"})
            elif form.get("client_id") != SSO_CLIENT_ID or form.get("client_secret") != SSO_CLIENT_SECRET:
                self.reply(401, {"error": "invalid_client"})
            elif issued is None or issued["redirect_uri"] != form.get("redirect_uri"):
                self.reply(400, {"error": "invalid_grant"})
            else:
                token = id_token(fake.claims(issued["nonce"]))
                self.reply(
                    200,
                    {
                        "access_token": secrets.token_urlsafe(24),
                        "token_type": "Bearer",
                        "expires_in": 300,
                        "id_token": token,
                    },
                )

    return Handler


@contextmanager
def fake_provider(**identity: Any) -> Iterator[FakeProvider]:
    fake = FakeProvider(**identity)
    with serving(_handler(fake)) as url:
        fake.url = url
        yield fake
