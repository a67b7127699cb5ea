"""What every response and every log line gets, whoever wrote the route: security headers on HTML pages,
and secrets redacted from logs.

- :class:`SecurityHeaders` adds ``Content-Security-Policy``, ``Referrer-Policy: no-referrer`` (a
  ``?token=`` in a page's URL never leaks to another site), ``X-Content-Type-Options: nosniff`` and
  ``Cache-Control: no-store`` to every ``text/html`` response, generically by content type, so a page a
  new router adds is covered. A header the route set itself is kept (a page may need a wider CSP).
  Every response gets ``nosniff``.
- :class:`RedactSecrets` is a logging filter: ``token=…`` (and ``access_token``, ``secret``, ``signature``
  …) query values, ``Bearer …`` credentials and Slack tokens (``xox…-``) become ``[redacted]`` in the
  formatted message of every record, before any handler writes it. :func:`install_log_redaction` puts it
  on every handler there is (uvicorn's access log included).
"""

from __future__ import annotations

import logging
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTML_HEADERS = {
    b"content-security-policy": (
        b"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
        b"base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    b"referrer-policy": b"no-referrer",
    b"cache-control": b"no-store",
}
ALWAYS = {b"x-content-type-options": b"nosniff"}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {bytes(name).lower() for name, _ in headers}
                content_type = next((bytes(v) for n, v in headers if bytes(n).lower() == b"content-type"), b"")
                wanted = dict(ALWAYS)
                if content_type.split(b";", 1)[0].strip().lower() == b"text/html":
                    wanted.update(HTML_HEADERS)
                headers += [(name, value) for name, value in wanted.items() if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


_PATTERNS = (
    # query strings and form bodies: ?token=…&… (any name ending in token, secret, signature, password, key)
    re.compile(r"(?i)((?:[?&;]|\b)(?:[a-z_]*token|[a-z_]*secret|signature|password|api_?key|sig)=)[^&\s\"';]+"),
    # the same inside a URL-encoded parameter (a ``next=`` that carries a whole query string)
    re.compile(r"(?i)((?:%3F|%26|\b)(?:[a-z_]*token|[a-z_]*secret|signature|password|api_?key|sig)%3D)[^&\s\"';%]+"),
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"()\bxox[abposr]-[A-Za-z0-9-]+"),
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites each record's message with secrets redacted (the arguments are folded in first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to the handler's own error path
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactSecrets()


def install_log_redaction() -> None:
    """Add the filter to every handler of every logger configured so far (idempotent)."""
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
