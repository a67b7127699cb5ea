"""HTTP errors and the one place any refusal becomes an HTTP answer: ``{"error": {code, message, field}}``.

Every way in answers with these bytes and headers: FastAPI's exception handlers (:func:`error_response`),
the edge middleware and the lean ingest path, which speak ASGI (:func:`error_messages`). The envelope is
rendered as Starlette's ``JSONResponse`` renders JSON; a ``401`` carries ``WWW-Authenticate: Bearer`` and a
``413`` ``Connection: close`` (the rest of an oversized body is never read).
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message

from service.core.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound, TransientError, Unauthenticated

log = logging.getLogger("frictionlog.api")


class MalformedBody(AppError, code="malformed_json"):
    """A body that is not usable JSON (not UTF-8, not JSON, too deep), or one the client did not finish."""


class PayloadTooLarge(AppError, code="payload_too_large"):
    """A body over the edge's cap (``limits.py``)."""


class UnsupportedMediaType(AppError, code="unsupported_media_type"):
    """A body that is not ``application/json``."""


RETRY_AFTER_SECONDS = 5
"""What a 503 asks the client to wait before it tries again (the database busy or down)."""

STATUS: dict[type[AppError], int] = {
    MalformedBody: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    InvalidInput: 422,
    TransientError: 503,
}


def render_json(payload: object) -> bytes:
    """JSON as ``JSONResponse`` renders it (compact, UTF-8, no NaN)."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def json_messages(status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> list[Message]:
    """A JSON answer as ASGI messages, with the headers ``JSONResponse`` sends (then ``extra``)."""
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    return [
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])},
        {"type": "http.response.body", "body": body},
    ]


def _envelope(code: str, message: str, field: str | None) -> bytes:
    return render_json({"error": {"code": code, "message": message, "field": field}})


def _refusal_headers(status: int) -> list[tuple[bytes, bytes]]:
    if status == 401:
        return [(b"www-authenticate", b"Bearer")]
    if status == 413:
        return [(b"connection", b"close")]
    if status == 503:
        return [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
    return []


def error_messages(status: int, code: str, message: str, field: str | None = None) -> list[Message]:
    """The envelope as ASGI messages: for the middlewares and the lean path, which answer without FastAPI."""
    return json_messages(status, _envelope(code, message, field), _refusal_headers(status))


def app_error_messages(error: AppError) -> list[Message]:
    return error_messages(status_of(error), error.code, error.message, error.field)


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    """The envelope as a response, for FastAPI's exception handlers: the same bytes and headers."""
    headers = {name.decode(): value.decode() for name, value in _refusal_headers(status)}
    return Response(_envelope(code, message, field), status_code=status, headers=headers, media_type="application/json")


def status_of(error: AppError) -> int:
    for klass in type(error).__mro__:
        if klass in STATUS:
            return STATUS[klass]
    return 500


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> Response:
        return error_response(status_of(exc), exc.code, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
        field = ".".join(location) or None
        message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
        return error_response(422, "invalid", f"{field}: {message}" if field else message, field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(UnicodeEncodeError)
    async def _unencodable(_request: Request, _exc: UnicodeEncodeError) -> Response:
        # A lone surrogate ("\ud800") that reached a string field of a parsed body: not storable text.
        return error_response(400, "malformed_json", "the request contains text that is not valid Unicode")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("api.unhandled path=%s error=%s", request.url.path, exc.__class__.__name__, exc_info=exc)
        return error_response(500, "internal", "internal error; it has been logged")
