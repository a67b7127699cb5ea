"""Friction reports filed over the API (``POST /api/v1/friction``) from any other tool."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from integrations.generic import canonical_json
from integrations.payload import first_error
from service.core.errors import InvalidInput
from service.core.identity import ServiceName
from service.core.records import FrictionRecord, InboxMeta, ParseResult
from service.core.timeutil import parse_timestamp
from service.ingest.inbox import Delivery, content_key

SOURCE = "api"
EVENT_TYPE = "friction"


def _timestamp(value: Any) -> datetime:
    try:
        return parse_timestamp(value, field="occurred_at")
    except InvalidInput as exc:
        raise ValueError(exc.message.removeprefix("occurred_at ")) from None


class FrictionIn(BaseModel):
    """A friction report. ``reporter`` is dropped when ``anonymous`` is true: no identity is stored.

    Over the API ``reporter`` is a contact string (a claim of the token holder): stored as ``contact``,
    shown escaped, never DMed. Only reports the Slack listeners file (source ``slack``) carry a Slack
    user id that Slack sent, and only those become the report's ``reporter``."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=4000)]
    service: ServiceName | None = None
    reporter: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = None
    anonymous: bool = False
    minutes_lost: int | None = Field(default=None, ge=0, le=100_000)
    impact: int | None = Field(default=None, ge=1, le=6, description="1 (annoying) to 6 (blocks all work)")
    frequency: Literal["once", "weekly", "daily"] | None = None
    blocking: bool = False
    occurred_at: Annotated[datetime, BeforeValidator(_timestamp)] | None = None
    delivery_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    channel: Annotated[str, StringConstraints(max_length=32)] | None = None
    """Where it was filed (Slack channel id), for a link back."""
    permalink: Annotated[str, StringConstraints(max_length=1024)] | None = None


def validate(value: Any) -> FrictionIn:
    if not isinstance(value, dict):
        raise InvalidInput("a friction report is a JSON object")
    try:
        return FrictionIn.model_validate(value)
    except ValidationError as exc:
        raise first_error(exc, skip=0) from None


def delivery(value: Any, *, headers: dict[str, str], source: str = SOURCE) -> Delivery:
    """The inbox delivery of a report. Anonymous: the reporter is dropped before anything is stored."""
    report = validate(value)
    stored = report.model_dump(mode="json", exclude_none=True)
    if report.anonymous:
        stored.pop("reporter", None)
    body = canonical_json(stored)
    key = report.delivery_id or content_key(source, EVENT_TYPE, body.encode())
    return Delivery(source=source, event_type=EVENT_TYPE, delivery_key=key, body=body, headers=headers)


def parse(meta: InboxMeta, value: Any, *, source: str = SOURCE, verified_reporter: bool = False) -> ParseResult:
    """``verified_reporter``: the body's reporter is a Slack user id from a verified Slack request."""
    report = validate(value)
    named = None if report.anonymous else report.reporter
    return [
        FrictionRecord(
            report_id=meta.id,
            source=source,
            text=report.text,
            created_at=report.occurred_at or meta.received_at,
            reporter=named if verified_reporter else None,
            contact=None if verified_reporter else named,
            service=report.service,
            minutes_lost=report.minutes_lost,
            impact=report.impact,
            frequency=report.frequency,
            blocking=report.blocking,
            slack_channel=report.channel,
            permalink=report.permalink,
        )
    ]
