"""The sources we take events from: how each is authenticated and keyed at the edge, and which parser
the workers use for its inbox rows.

A vendor module (``integrations.github``, ``gitlab``, …) is a :class:`Vendor`: mypy checks each module
listed in :data:`VENDORS` against that protocol, so a vendor that drops or changes ``verify``, ``parse``
or the rest no longer type-checks, rather than failing on its first delivery.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from integrations import (
    cdevents,
    friction_api,
    generic,
    github,
    gitlab,
    jira,
    linear,
    opencost,
    opsgenie,
    pagerduty,
    prometheus,
)
from integrations.config import IntegrationConfig
from integrations.payload import Check, Handler
from service.core.errors import InvalidInput
from service.core.records import InboxMeta, ParseResult
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.ingest.inbox import Delivery, content_key

SLACK_SOURCE = "slack"

Parser = Handler
"""(the inbox row's metadata, its decoded JSON body, config) → canonical records, Ignored, or InvalidInput."""


class Vendor(Protocol):
    """What a vendor module offers: the edge authenticates, types and keys a delivery with it, and the
    workers parse the stored body with it (``parse`` is a :data:`Parser`)."""

    @property
    def SOURCE(self) -> str:
        """The inbox ``source`` and the ``/webhooks/{source}`` path segment."""

    def verify(self, headers: Mapping[str, str], body: bytes, settings: Settings, /) -> None:
        """Authenticate the exact body (a signature or a shared token), before anything parses it; raise
        ``Unauthenticated`` (401) otherwise."""

    def event_type(self, headers: Mapping[str, str], value: Any, /) -> str:
        """The event type, from a header or the payload; empty if there is none (a 422)."""

    def delivery_key(self, headers: Mapping[str, str], /) -> str | None:
        """The vendor's own delivery id (dedupe), or None: the key is then a hash of the body."""

    def parse(self, meta: InboxMeta, value: Any, config: IntegrationConfig, /) -> ParseResult:
        """The decoded body as canonical records, ``Ignored`` (a well-formed event not used) or
        ``InvalidInput`` naming the field."""


def _vendors(*modules: Vendor) -> dict[str, Vendor]:
    return {module.SOURCE: module for module in modules}


VENDORS: dict[str, Vendor] = _vendors(github, gitlab, pagerduty, opsgenie, jira, linear, cdevents)
"""Sources that post their own payloads to ``/webhooks/{source}``."""

KEPT_HEADERS = (
    "user-agent",
    "content-type",
    "x-request-id",
    "x-github-event",
    "x-gitlab-event",
    "x-webhook-id",
    "x-atlassian-webhook-identifier",
    "linear-delivery",
    "linear-event",
    "ce-id",
)
"""The only request headers stored with an inbox row; never an Authorization header or a signature."""


def _generic(_meta: InboxMeta, body: Any, config: IntegrationConfig) -> ParseResult:
    return generic.parse(body, config)


def _friction(meta: InboxMeta, body: Any, _config: IntegrationConfig) -> ParseResult:
    return friction_api.parse(meta, body)


def _slack_friction(meta: InboxMeta, body: Any, _config: IntegrationConfig) -> ParseResult:
    return friction_api.parse(meta, body, source=SLACK_SOURCE, verified_reporter=True)


EDGE_CHECKS: dict[str, dict[str, Check]] = {github.SOURCE: github.CHECKS}
"""By source and event type: what the edge runs in place of the parser (``payload.Check``), where a vendor
offers it: the same refusals and the same ``ignored``, without building records only to throw them away."""

PARSERS: dict[str, Parser] = {
    generic.SOURCE: _generic,
    friction_api.SOURCE: _friction,
    SLACK_SOURCE: _slack_friction,
    opencost.SOURCE: opencost.parse,
    prometheus.SOURCE: prometheus.parse,
    **{source: module.parse for source, module in VENDORS.items()},
}


@dataclass(frozen=True, slots=True)
class VendorDelivery:
    delivery: Delivery
    ignored: str | None
    """Why a well-formed event will be recorded as ignored (answered 202 all the same)."""


def vendor_delivery(
    source: str, headers: Mapping[str, str], raw: bytes, value: Any, config: IntegrationConfig
) -> VendorDelivery:
    """Check a verified vendor payload and make its inbox delivery; InvalidInput names a missing field.

    The payload is checked here, so one we cannot use is refused now, with a 422 the sender sees, rather
    than failing later in a worker: by the vendor's edge check for its event type (``EDGE_CHECKS``), else
    by its parser on a stand-in row.
    """
    module = VENDORS[source]
    event_type = module.event_type(headers, value)
    if not event_type:
        raise InvalidInput(f"the {source} event type is missing", field="event_type")
    key = module.delivery_key(headers) or content_key(source, event_type, raw)
    check = EDGE_CHECKS.get(source, {}).get(event_type)
    if check is not None:
        verdict = check(value, config)
        ignored = verdict.reason if verdict is not None else None
    else:
        probe = InboxMeta(id=0, event_type=event_type, delivery_key=key, received_at=utcnow())
        result = module.parse(probe, value, config)
        ignored = result.reason if not isinstance(result, list) else None
    body = raw.decode("utf-8")
    return VendorDelivery(Delivery(source, event_type[:64], key[:128], body, kept_headers(headers)), ignored)


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers stored with an inbox row (KEPT_HEADERS, 256 characters at most); ``headers`` keyed in
    lower case, as Starlette's are."""
    return {name: headers[name][:256] for name in KEPT_HEADERS if name in headers}


def verify(source: str, headers: Mapping[str, str], raw: bytes, settings: Settings) -> None:
    VENDORS[source].verify(headers, raw, settings)


def parse_inbox_body(source: str, meta: InboxMeta, body: str, config: IntegrationConfig) -> ParseResult:
    parser = PARSERS.get(source)
    if parser is None:
        raise InvalidInput(f"no parser for source {source!r}", field="source")
    try:
        decoded = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"stored body is not JSON: {exc}") from None
    return parser(meta, decoded, config)
