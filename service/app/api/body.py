"""Reading a JSON request body safely: size cap (413), content type (415), well-formed JSON (400)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.requests import ClientDisconnect

from service.app.api.errors import MalformedBody, PayloadTooLarge, UnsupportedMediaType
from service.app.api.state import app_state


@dataclass(frozen=True, slots=True)
class JsonBody:
    raw: bytes
    value: Any


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


async def read_capped(request: Request) -> bytes:
    """The raw body, refused with 413 as soon as it passes the configured cap (never read whole first)."""
    limit = app_state(request).settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"body is over the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:  # nobody is left to answer; no traceback for a client that went away
        raise MalformedBody("the client disconnected before sending the whole body") from None
    return b"".join(chunks)


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def decode_json(raw: bytes) -> Any:
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise MalformedBody("body is not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise MalformedBody(f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise MalformedBody("body is nested too deeply") from None
    except ValueError as exc:  # an integer literal past Python's 4,300-digit conversion limit
        raise MalformedBody(f"body is not usable JSON: {exc}") from None
    if _SURROGATE_ESCAPE.search(raw):  # rare: only then check that every string is encodable text
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedBody("body contains a lone UTF-16 surrogate escape (e.g. \\ud800): not text") from None
    return value


def require_json(request: Request) -> None:
    require_json_type(request.headers.get("content-type", ""))


def require_json_type(content_type: str) -> None:
    if not _is_json(content_type):
        raise UnsupportedMediaType("Content-Type must be application/json", field="content-type")


async def json_body(request: Request) -> JsonBody:
    """FastAPI dependency for token-authenticated routes; declare it after the token check."""
    require_json(request)
    raw = await read_capped(request)
    return JsonBody(raw=raw, value=decode_json(raw))
