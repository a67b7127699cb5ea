"""Sign in with Slack: OpenID Connect, authorization code flow, with Slack's documented endpoints.

``/openid/connect/authorize`` (the browser goes there), ``/api/openid.connect.token`` (we exchange the
code, server to server). The ID token comes straight from the token endpoint over TLS, so, as OpenID
Connect Core §3.1.3.7 allows, its issuer is trusted from that connection rather than a JWKS signature; its
audience, nonce, expiry and issuer are still checked. The base URL is a setting, so tests point the real
client at a local stand-in.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from service.core.errors import Unauthenticated
from service.core.settings import Settings

ISSUER = "https://slack.com"
SCOPES = "openid profile"
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class SlackIdentity:
    user_id: str
    team_id: str | None
    name: str


def enabled(settings: Settings) -> bool:
    return bool(settings.slack_client_id and settings.slack_client_secret)


def redirect_uri(settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}/signin/slack/callback"


def authorize_request(client_id: str, scopes: str, redirect: str) -> tuple[dict[str, str], dict[str, str]]:
    """An authorization-code request's parameters with a fresh state and nonce, and the state and nonce to
    keep in a cookie until the browser returns (Slack's sign-in and single sign-on alike)."""
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    params = {
        "response_type": "code",
        "scope": scopes,
        "client_id": client_id,
        "state": state,
        "nonce": nonce,
        "redirect_uri": redirect,
    }
    return params, {"state": state, "nonce": nonce}


def token_form(client_id: str | None, secret: SecretStr | None, code: str, redirect: str) -> dict[str, str]:
    """The authorization-code grant's form for the token endpoint (Slack's sign-in and single sign-on alike)."""
    return {
        "client_id": client_id or "",
        "client_secret": secret.get_secret_value() if secret else "",
        "code": code,
        "grant_type": "authorization_code",
        "redirect_uri": redirect,
    }


def start(settings: Settings) -> tuple[str, dict[str, str]]:
    """(the authorize URL to send the browser to, the state and nonce to keep in a cookie until it returns)."""
    params, kept = authorize_request(settings.slack_client_id or "", SCOPES, redirect_uri(settings))
    if settings.slack_team_id:
        params["team"] = settings.slack_team_id
    return f"{settings.slack_oidc_url.rstrip('/')}/openid/connect/authorize?{urlencode(params)}", kept


def jwt_claims(id_token: str, *, sender: str = "Slack") -> dict[str, Any]:
    """The claims of an ID token received straight from the token endpoint over TLS (OpenID Connect Core
    §3.1.3.7: its issuer is then the connection's, so its signature is not checked); their values are."""
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise Unauthenticated(f"{sender} sent an unreadable ID token") from exc
    if not isinstance(claims, dict):
        raise Unauthenticated(f"{sender} sent an unreadable ID token")
    return claims


def check_id_token(claims: dict[str, Any], *, issued_here: bool, client_id: str | None, nonce: str) -> None:
    """The checks every ID token passes (Slack's sign-in and single sign-on alike): for this app (its issuer,
    as the caller judged, and its audience), from this sign-in (the nonce), and not expired."""
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if not issued_here or client_id not in audiences:
        raise Unauthenticated("the ID token is not for this app")
    if claims.get("nonce") != nonce:
        raise Unauthenticated("the sign-in did not start here (nonce mismatch)")
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] < time.time():
        raise Unauthenticated("the ID token has expired")


def identity_from_claims(settings: Settings, claims: dict[str, Any], *, nonce: str) -> SlackIdentity:
    """Check the ID token's claims (pure): issuer, audience, nonce, expiry, and the workspace if one is set."""
    check_id_token(claims, issued_here=claims.get("iss") == ISSUER, client_id=settings.slack_client_id, nonce=nonce)
    user_id = claims.get("https://slack.com/user_id") or claims.get("sub")
    team_id = claims.get("https://slack.com/team_id")
    if not isinstance(user_id, str) or not user_id:
        raise Unauthenticated("the ID token names no Slack user")
    if settings.slack_team_id and team_id != settings.slack_team_id:
        raise Unauthenticated("this Slack workspace may not sign in here")
    name = claims.get("name") or claims.get("given_name") or user_id
    return SlackIdentity(user_id=user_id, team_id=team_id if isinstance(team_id, str) else None, name=str(name))


async def finish(settings: Settings, *, code: str, nonce: str) -> SlackIdentity:
    """Exchange the code for tokens at Slack's token endpoint and read who signed in."""
    form = token_form(settings.slack_client_id, settings.slack_client_secret, code, redirect_uri(settings))
    url = f"{settings.slack_oidc_url.rstrip('/')}/api/openid.connect.token"
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            response = await client.post(url, data=form)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unauthenticated("Slack could not be reached to finish the sign-in; try again") from exc
    if not isinstance(body, dict) or not body.get("ok") or not isinstance(body.get("id_token"), str):
        error = body.get("error", "unknown") if isinstance(body, dict) else "unknown"
        raise Unauthenticated(f"Slack refused the sign-in ({error})")
    return identity_from_claims(settings, jwt_claims(body["id_token"]), nonce=nonce)
