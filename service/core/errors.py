"""The domain's exceptions. The API maps them to HTTP codes in one handler; services never raise HTTP errors."""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """Base of every error the service reports to a caller. A subclass names its ``code`` (what the caller
    reads in the error envelope) in its class line: ``class NotFound(AppError, code="not_found")``."""

    code: ClassVar[str] = "error"

    def __init_subclass__(cls, *, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Unauthenticated(AppError, code="unauthorized"):
    """No valid credential: a missing or wrong token, or a webhook signature that does not verify."""


class Forbidden(AppError, code="forbidden"):
    """A valid credential that may not do this (its scopes or role fall short)."""


class NotFound(AppError, code="not_found"):
    """No such row, or none the caller may see."""


class Conflict(AppError, code="conflict"):
    """The request contradicts what is stored (a duplicate, or a delete that would lose a record)."""


class InvalidInput(AppError, code="invalid"):
    """A payload that parsed as JSON but does not carry what we need; ``field`` names the culprit."""


class TransientError(AppError, code="unavailable"):
    """Worth retrying later: a dependency is down or busy."""


class DatabaseBusy(TransientError, code="database_busy"):
    """A write waited its bound for a lock another transaction holds (a rebuild, an import): 503, retry."""
