"""A local stand-in for Slack's OpenID Connect endpoints (Sign in with Slack), written from Slack's docs:
``GET /openid/connect/authorize`` sends the browser back to ``redirect_uri`` with a code and the state;
``POST /api/openid.connect.token`` (form: client_id, client_secret, code, grant_type, redirect_uri) answers
``{"ok": true, "access_token", "token_type", "id_token"}`` with the claims Slack puts in its ID tokens."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack
from urllib.parse import urlencode

from tests.standin import JsonHandler, serving

CLIENT_ID = "2141029472.691202649728"
CLIENT_SECRET = "e1b9e11dfcd19c1982d5de12921e17e8c"
TEAM_ID = "T0001"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def id_token(claims: dict[str, Any]) -> str:
    """A JWT of the shape Slack sends (RS256 header; the signature is not checked by a client that got the
    token straight from the token endpoint over TLS, so random bytes stand in for it here)."""
    header = {"typ": "JWT", "alg": "RS256", "kid": "mB2MAyKSn555isd0EbdhKx6nkyAi9xLq8rvCEb_nOyY"}
    parts = [json.dumps(header).encode(), json.dumps(claims).encode(), secrets.token_bytes(64)]
    return ".".join(_b64(part) for part in parts)


@dataclass
class FakeSlackOidc:
    user_id: str = "UADMIN"
    name: str = "Ada Admin"
    team_id: str = TEAM_ID
    url: str = ""
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def claims(self, nonce: str) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": "https://slack.com",
            "sub": self.user_id,
            "aud": CLIENT_ID,
            "exp": now + 3600,
            "iat": now,
            "auth_time": now,
            "nonce": nonce,
            "at_hash": _b64(secrets.token_bytes(16)),
            "https://slack.com/team_id": self.team_id,
            "https://slack.com/user_id": self.user_id,
            "name": self.name,
            "given_name": self.name.split()[0],
            "locale": "en-US",
        }


def _handler(fake: FakeSlackOidc) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:  # http.server's name
            path, query = self.path_and_query()
            if path != "/openid/connect/authorize" or query.get("client_id") != CLIENT_ID:
                self.reply(404, {"ok": False, "error": "invalid_client_id"})
                return
            code = secrets.token_hex(16)
            with fake.lock:
                fake.codes[code] = {"nonce": query.get("nonce", ""), "redirect_uri": query["redirect_uri"]}
            self.send_response(302)
            back = urlencode({"code": code, "state": query["state"]})
            self.send_header("Location", f"{query['redirect_uri']}?{back}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            form = self.form()
            with fake.lock:
                fake.token_requests.append(form)
                issued = fake.codes.pop(form.get("code", ""), None)
            if self.path != "/api/openid.connect.token":
                self.reply(404, {"ok": False, "error": "unknown_method"})
            elif form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                self.reply(200, {"ok": False, "error": "invalid_client"})
            elif issued is None or issued["redirect_uri"] != form.get("redirect_uri"):
                self.reply(200, {"ok": False, "error": "invalid_code"})
            else:
                token = id_token(fake.claims(issued["nonce"]))
                self.reply(200, {"ok": True, "access_token": "xoxp-1234", "token_type": "Bearer", "id_token": token})

    return Handler


class Identity(TypedDict, total=False):
    """Who signs in: any of the fake's identity fields, the rest keep their defaults."""

    user_id: str
    name: str
    team_id: str


@contextmanager
def fake_slack_oidc(**identity: Unpack[Identity]) -> Iterator[FakeSlackOidc]:
    fake = FakeSlackOidc(**identity)
    with serving(_handler(fake)) as url:
        fake.url = url
        yield fake
