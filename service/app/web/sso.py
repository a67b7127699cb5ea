"""Sign in through any OpenID Connect provider (Okta, Google Workspace, Entra ID, Keycloak): one configured
issuer, the authorization code flow, and the role from a configured claim.

The endpoints come from the issuer's discovery document (``/.well-known/openid-configuration``, whose
``issuer`` must be the configured one). The code is exchanged at the token endpoint with the client's
secret (``client_secret_post``); the ID token comes straight from it over TLS, so, as OpenID Connect Core
§3.1.3.7 allows, its signature is not checked — its issuer, audience, nonce and expiry are. The role is
``admin`` if the claim FRICTIONLOG_OIDC_ROLE_CLAIM (``groups``) holds one of FRICTIONLOG_OIDC_ADMIN_VALUES,
``read`` if one of FRICTIONLOG_OIDC_READ_VALUES, and someone with neither is refused. It is kept with the
server-side session (the provider is not asked again per request); signing out, or ``frictionlog sessions
revoke --subject oidc:<sub>``, ends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args
from urllib.parse import urlencode

import httpx

from service.app.web.oidc import TIMEOUT_SECONDS, authorize_request, check_id_token, jwt_claims, token_form
from service.core.errors import Unauthenticated
from service.core.settings import Settings

SCOPES = "openid profile email"
CALLBACK = "/signin/sso/callback"
Endpoint = Literal["authorization_endpoint", "token_endpoint"]
"""What the sign-in needs of the discovery document: where to send the browser, and where to exchange the code."""
ENDPOINTS: tuple[Endpoint, ...] = get_args(Endpoint)


@dataclass(frozen=True, slots=True)
class SsoIdentity:
    subject: str
    name: str
    role: Literal["read", "admin"]


def enabled(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret)


def redirect_uri(settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}{CALLBACK}"


def _issuer(settings: Settings) -> str:
    return (settings.oidc_issuer or "").rstrip("/")


async def endpoint(settings: Settings, name: Endpoint) -> str:
    """One of the provider's ``ENDPOINTS`` from its discovery document, which must name the configured issuer
    and both endpoints."""
    url = f"{_issuer(settings)}/.well-known/openid-configuration"
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            document = (await client.get(url)).raise_for_status().json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unauthenticated("the sign-in provider could not be reached; try again") from exc
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != _issuer(settings):
        raise Unauthenticated("the sign-in provider's discovery document names another issuer")
    if not all(isinstance(document.get(key), str) for key in ENDPOINTS):
        raise Unauthenticated("the sign-in provider's discovery document lacks its endpoints")
    return str(document[name])


async def start(settings: Settings) -> tuple[str, dict[str, str]]:
    """(the authorize URL to send the browser to, the state and nonce to keep in a cookie until it returns)."""
    authorization = await endpoint(settings, "authorization_endpoint")
    params, kept = authorize_request(settings.oidc_client_id or "", SCOPES, redirect_uri(settings))
    separator = "&" if "?" in authorization else "?"
    return f"{authorization}{separator}{urlencode(params)}", kept


def _values(claim: Any) -> set[str]:
    if isinstance(claim, str):
        return {claim}
    if isinstance(claim, list):
        return {value for value in claim if isinstance(value, str)}
    return set()


def identity_from_claims(settings: Settings, claims: dict[str, Any], *, nonce: str) -> SsoIdentity:
    """Check the ID token's claims (pure): issuer, audience, nonce, expiry; then the role from the claim."""
    issued_here = str(claims.get("iss", "")).rstrip("/") == _issuer(settings)
    check_id_token(claims, issued_here=issued_here, client_id=settings.oidc_client_id, nonce=nonce)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated("the ID token names no user")
    held = _values(claims.get(settings.oidc_role_claim))
    if held & set(settings.oidc_admin_values):
        role: Literal["read", "admin"] = "admin"
    elif held & set(settings.oidc_read_values):
        role = "read"
    else:
        raise Unauthenticated(f"your account has no role here (its {settings.oidc_role_claim!r} names none)")
    name = claims.get("name") or claims.get("email") or claims.get("preferred_username") or subject
    return SsoIdentity(subject=subject, name=str(name)[:128], role=role)


async def finish(settings: Settings, *, code: str, nonce: str) -> SsoIdentity:
    """Exchange the code for tokens at the token endpoint and read who signed in, and as what."""
    token = await endpoint(settings, "token_endpoint")
    form = token_form(settings.oidc_client_id, settings.oidc_client_secret, code, redirect_uri(settings))
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            response = await client.post(token, data=form, headers={"Accept": "application/json"})
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unauthenticated("the sign-in provider could not be reached to finish the sign-in; try again") from exc
    if response.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
        error = body.get("error", "unknown") if isinstance(body, dict) else "unknown"
        raise Unauthenticated(f"the sign-in provider refused the sign-in ({error})")
    return identity_from_claims(settings, jwt_claims(body["id_token"], sender="the sign-in provider"), nonce=nonce)
