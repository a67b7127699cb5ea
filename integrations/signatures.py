"""Webhook signature checks, constant-time, each exactly as its vendor signs."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from datetime import datetime

from pydantic import SecretStr

from service.core.digests import feed
from service.core.errors import Unauthenticated
from service.core.timeutil import utcnow


def _secret(secret: SecretStr | None, source: str) -> bytes:
    if secret is None or not secret.get_secret_value():
        # Refuse rather than accept unsigned deliveries: an unset secret is a configuration gap, not "open".
        raise Unauthenticated(f"{source} webhooks are not configured on this server (no secret set)")
    return secret.get_secret_value().encode()


def hmac_hex(secret: bytes, body: bytes, digest: str = "sha256") -> str:
    mac = hmac.new(secret, digestmod=getattr(hashlib, digest))
    feed(mac, body)  # in pieces that keep the interpreter lock (service.core.digests)
    return mac.hexdigest()


def verify_github(
    headers: Mapping[str, str], body: bytes, secret: SecretStr | None, *, allow_sha1: bool = False
) -> None:
    """``X-Hub-Signature-256: sha256=<hex>``; the legacy SHA-1 header only when allowed and 256 is absent."""
    key = _secret(secret, "GitHub")
    signature = headers.get("x-hub-signature-256")
    if signature is not None:
        expected = "sha256=" + hmac_hex(key, body)
    elif allow_sha1 and headers.get("x-hub-signature") is not None:
        signature = headers["x-hub-signature"]
        expected = "sha1=" + hmac_hex(key, body, "sha1")
    else:
        raise Unauthenticated("missing X-Hub-Signature-256 header", field="x-hub-signature-256")
    if not hmac.compare_digest(signature.strip().encode(), expected.encode()):
        raise Unauthenticated("signature does not match the body", field="x-hub-signature-256")


def verify_pagerduty(headers: Mapping[str, str], body: bytes, secret: SecretStr | None) -> None:
    """``X-PagerDuty-Signature: v1=<hex>,v1=<hex>``: any match passes (that is how secrets rotate)."""
    key = _secret(secret, "PagerDuty")
    header = headers.get("x-pagerduty-signature")
    if not header:
        raise Unauthenticated("missing X-PagerDuty-Signature header", field="x-pagerduty-signature")
    expected = ("v1=" + hmac_hex(key, body)).encode()
    candidates = [part.strip().encode() for part in header.split(",") if part.strip().startswith("v1=")]
    # Compare against every candidate (no early exit) so timing does not reveal which one matched.
    matches = [hmac.compare_digest(candidate, expected) for candidate in candidates]
    if not any(matches):
        raise Unauthenticated("signature does not match the body", field="x-pagerduty-signature")


def verify_token_header(headers: Mapping[str, str], header: str, secret: SecretStr | None, source: str) -> None:
    """A shared secret sent as-is in a header (GitLab's ``X-Gitlab-Token``, Opsgenie's custom header)."""
    key = _secret(secret, source)
    given = headers.get(header)
    if not given:
        raise Unauthenticated(f"missing {header} header", field=header)
    if not hmac.compare_digest(given.encode(), key):
        raise Unauthenticated(f"{header} does not match", field=header)


SLACK_WINDOW_SECONDS = 5 * 60


def verify_slack(headers: Mapping[str, str], body: bytes, secret: SecretStr | None, *, now: float) -> None:
    """Slack's ``v0`` scheme: ``X-Slack-Signature: v0=<hex of HMAC-SHA256("v0:" + timestamp + ":" + body)>``
    with ``X-Slack-Request-Timestamp`` within five minutes (replays refused). A timestamp that is not a
    number is a 401 like any other bad signature."""
    key = _secret(secret, "Slack")
    timestamp = headers.get("x-slack-request-timestamp", "").strip()
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise Unauthenticated("missing or malformed X-Slack-Request-Timestamp", field="x-slack-request-timestamp")
    if abs(now - int(timestamp)) > SLACK_WINDOW_SECONDS:
        raise Unauthenticated("the request is older than five minutes", field="x-slack-request-timestamp")
    signature = headers.get("x-slack-signature", "")
    if not signature:
        raise Unauthenticated("missing X-Slack-Signature header", field="x-slack-signature")
    expected = "v0=" + hmac_hex(key, b"v0:" + timestamp.encode() + b":" + body)
    if not hmac.compare_digest(signature.strip().encode(), expected.encode()):
        raise Unauthenticated("signature does not match the body", field="x-slack-signature")


def verify_prefixed_hmac(
    headers: Mapping[str, str], body: bytes, secret: SecretStr | None, *, header: str, prefix: str, source: str
) -> None:
    """``<header>: <prefix><hex HMAC-SHA256 of the raw body>`` (Jira's WebSub ``sha256=…``, Linear's bare hex)."""
    key = _secret(secret, source)
    signature = headers.get(header)
    if not signature:
        raise Unauthenticated(f"missing {header} header", field=header)
    expected = prefix + hmac_hex(key, body)
    if not hmac.compare_digest(signature.strip().lower().encode(), expected.encode()):
        raise Unauthenticated("signature does not match the body", field=header)


def verify_body_time(
    body: bytes, *, field: str, before_seconds: float, after_seconds: float, now: datetime | None = None
) -> None:
    """The replay window of a signed delivery whose body carries its own time (``field``, milliseconds since
    the epoch, as Linear's ``webhookTimestamp`` and Jira's ``timestamp``): older than ``before_seconds`` or
    further ahead than ``after_seconds`` is 401, and so is a missing, non-numeric or non-finite time (NaN
    compares false with everything). The signature covers the body, so the time cannot be changed."""
    try:
        stamp = json.loads(body).get(field)
    except (ValueError, AttributeError):
        stamp = None
    if isinstance(stamp, bool) or not isinstance(stamp, int | float) or not math.isfinite(stamp):
        raise Unauthenticated(f"{field} is missing or not a time", field=field)
    age = (now or utcnow()).timestamp() - stamp / 1000
    if age > before_seconds or -age > after_seconds:
        raise Unauthenticated(f"{field} is outside the replay window (a replay?)", field=field)
