"""HTTP errors and the one place domain errors become HTTP responses: ``{"error": {code, message, field}}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.core.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound, TransientError, Unauthenticated

log = logging.getLogger("frictionlog.api")


class MalformedBody(AppError):
    code = "malformed_json"


class PayloadTooLarge(AppError):
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    code = "unsupported_media_type"


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


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"error": {"code": code, "message": message, "field": field}}, status_code=status, headers=headers
    )


def status_of(error: AppError) -> int:
    for klass in type(error).__mro__:
        if klass in STATUS:
            return STATUS[klass]
    return 500


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return error_response(status_of(exc), exc.code, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
        field = ".".join(location) or None
        message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
        return error_response(422, "invalid", f"{field}: {message}" if field else message, field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(UnicodeEncodeError)
    async def _unencodable(_request: Request, _exc: UnicodeEncodeError) -> JSONResponse:
        # A lone surrogate ("\ud800") that reached a string field of a parsed body: not storable text.
        return error_response(400, "malformed_json", "the request contains text that is not valid Unicode")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("api.unhandled path=%s error=%s", request.url.path, exc.__class__.__name__, exc_info=exc)
        return error_response(500, "internal", "internal error; it has been logged")
