"""The domain's exceptions. The API maps them to HTTP codes in one handler; services never raise HTTP errors."""

from __future__ import annotations


class AppError(Exception):
    """Base of every error the service reports to a caller."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Unauthenticated(AppError):
    """No valid credential: a missing or wrong token, or a webhook signature that does not verify."""

    code = "unauthorized"


class Forbidden(AppError):
    code = "forbidden"


class NotFound(AppError):
    code = "not_found"


class Conflict(AppError):
    code = "conflict"


class InvalidInput(AppError):
    """A payload that parsed as JSON but does not carry what we need; ``field`` names the culprit."""

    code = "invalid"


class TransientError(AppError):
    """Worth retrying later: a dependency is down or busy."""

    code = "unavailable"


class DatabaseBusy(TransientError):
    """A write waited its bound for a lock another transaction holds (a rebuild, an import): 503, retry."""

    code = "database_busy"
