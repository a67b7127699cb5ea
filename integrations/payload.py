"""Helpers every vendor parser shares: validation into InvalidInput naming the field, vendor timestamps."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from integrations.config import IntegrationConfig
from service.core.errors import InvalidInput
from service.core.records import Ignored, InboxMeta, ParseResult
from service.core.timeutil import parse_timestamp, quick_timestamp

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[InboxMeta, Any, IntegrationConfig], ParseResult]
"""Parses one event type of a vendor into canonical records (or Ignored, or InvalidInput)."""
Check = Callable[[Any, IntegrationConfig], Ignored | None]
"""What the edge runs for one event type instead of its :data:`Handler`: the same validation and the same
decision to ignore, without building the records (the worker builds them from the stored body). Raises
the InvalidInput the handler would; returns the handler's ``Ignored``, or None when it would give records."""
FULL_SHA = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")
_GITLAB_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) ?(UTC|[+-]\d{4})$")


class Payload(BaseModel):
    """Vendor payloads: keep only the fields we use, ignore the rest."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def header_event_type(header: str) -> Callable[[Mapping[str, str], Any], str]:
    """A vendor whose event type is a header (GitHub's ``X-GitHub-Event``, GitLab's ``X-Gitlab-Event``)."""

    def event_type(headers: Mapping[str, str], value: Any) -> str:
        return headers.get(header, "")

    return event_type


def first_error(exc: ValidationError, *, skip: int = 0) -> InvalidInput:
    """The first pydantic error as InvalidInput, its location joined into a field name (``commits.0.sha``)."""
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"][skip:]) or None
    message = error["msg"].removeprefix("Value error, ")
    return InvalidInput(f"{field}: {message}" if field else message, field=field)


def validated(model: type[M], value: Any) -> M:
    if not isinstance(value, dict):
        raise InvalidInput("the payload must be a JSON object")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise first_error(exc) from None


def vendor_time(value: Any) -> datetime:
    """RFC 3339, GitLab's ``2021-04-28 21:50:00 +0200`` / ``… UTC``, or epoch seconds, milliseconds or
    nanoseconds (Opsgenie sends milliseconds and nanoseconds) → aware UTC."""
    if type(value) is str and value[10:11] == "T" and (quick := quick_timestamp(value)) is not None:
        return quick  # what parse_timestamp answers first, without the calls in between (a push has dozens)
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        for scale in (1e9, 1e3):  # nanoseconds, then milliseconds
            if number > scale * 1e8:
                number /= scale
                break
        value = number
    elif isinstance(value, str) and value[10:11] != "T" and (match := _GITLAB_TIME.match(value.strip())):
        day, clock, zone = match.groups()
        value = f"{day}T{clock}{'+00:00' if zone == 'UTC' else zone[:3] + ':' + zone[3:]}"
    try:
        return parse_timestamp(value, field="timestamp")
    except InvalidInput as exc:
        raise ValueError(exc.message.removeprefix("timestamp ")) from None


VendorTime = Annotated[datetime, BeforeValidator(vendor_time)]


class CommitAuthor(Payload):
    """A push commit's author: the name, and the handle each forge adds (GitHub a ``username``, GitLab an
    ``email``); any may be absent."""

    name: str | None = None
    username: str | None = None
    email: str | None = None


class PushCommit(Payload):
    """A commit as a push webhook lists it, with the files it touched (GitHub's and GitLab's share the
    shape; each names the author its own way, see ``CommitAuthor``)."""

    id: str = Field(pattern=r"^[0-9a-fA-F]{40,64}$")
    timestamp: VendorTime
    message: str = ""
    added: list[str] = []
    modified: list[str] = []
    removed: list[str] = []
    author: CommitAuthor = CommitAuthor()


def sha_from_url(url: str | None) -> str | None:
    """GitLab's deployment hook has only a short sha; the full one ends its ``commit_url``."""
    if not url:
        return None
    tail = url.rstrip("/").rsplit("/", 1)[-1].lower()
    return tail if FULL_SHA.match(tail) else None


def dispatch(
    handlers: dict[str, Handler], vendor: str, meta: InboxMeta, value: Any, config: IntegrationConfig
) -> ParseResult:
    """The handler of the row's event type; an event type we do not use is recorded as ignored."""
    handler = handlers.get(meta.event_type)
    if handler is None:
        return Ignored(f"{vendor} event {meta.event_type!r} is not used")
    return handler(meta, value, config)
