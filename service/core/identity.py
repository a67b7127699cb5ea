"""A service's identity: the one rule that turns any spelling of a service name into its catalogue slug.

Every source (generic form, GitHub, GitLab, Argo CD, PagerDuty, Opsgenie, Slack, the friction API), the
API's filters and paths, and the catalogue call :func:`service_slug`, so ``Checkout_API``,
``checkout_api``, ``ｃｈｅｃｋｏｕｔ_api`` (fullwidth), ``checkout‐api`` with a Unicode hyphen, a
zero-width space or a trailing newline all name one service. The steps, in order: NFKC (fullwidth and
compatibility forms), invisible characters removed (format characters such as U+200B, U+FEFF, U+00AD),
dash variants folded to ``-``, trimmed, casefolded, runs of white space inside the name joined by ``-``
(``Checkout API`` → ``checkout-api``, as vendors name services), and then the catalogue's slug rule:
``[a-z0-9][a-z0-9._-]{0,127}``. Underscores stay underscores: ``checkout_api`` and ``checkout-api`` are
two names a team may really use for two services; an alias joins them if they are one.

A name that still breaks the rule is refused with InvalidInput naming the field (a 422 at the edge).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator

from service.core.errors import InvalidInput

SLUG_RULE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
"""The catalogue's slug rule, checked after normalisation."""
MAX_LENGTH = 128

_DASHES = re.compile(r"[\u2010-\u2015\u2212\u2043\u2e3a\u2e3b\ufe58\ufe63\uff0d\u058a\u05be\u1806\u30a0]")
_SPACES = re.compile(r"\s+")


def _visible(ch: str) -> bool:
    """Format (Cf) and control (Cc) characters are invisible in any rendering: they never distinguish names."""
    return unicodedata.category(ch) not in ("Cf", "Cc") or ch in "\t\n\r\f\v"


CACHED_UP_TO = 256
"""Names this long or shorter have their normal form remembered (4,096 of them, about a megabyte at most):
a stream of events names the same few hundred services again and again, and the rule is pure."""


def normalise(raw: str) -> str:
    """The normal form of a name, before the slug rule is checked (see the module docstring)."""
    return _remembered(raw) if len(raw) <= CACHED_UP_TO else _normal_form(raw)


@functools.lru_cache(maxsize=4096)
def _remembered(raw: str) -> str:
    return _normal_form(raw)


def _normal_form(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(ch for ch in text if _visible(ch))
    text = _DASHES.sub("-", text).strip().casefold()
    return _SPACES.sub("-", text)


def is_slug(name: str) -> bool:
    return SLUG_RULE.fullmatch(name) is not None


def service_slug(raw: str, *, field: str = "service") -> str:
    """The catalogue slug of ``raw``; InvalidInput naming ``field`` when the normal form breaks the slug rule."""
    name = normalise(raw)
    if not is_slug(name):
        shown = name if len(name) <= 64 else name[:64] + "…"
        raise InvalidInput(
            f"{field}: {shown!r} is not a service name (letters, digits, '.', '_' and '-', starting with a "
            f"letter or digit, at most {MAX_LENGTH} characters)",
            field=field,
        )
    return name


def _as_slug(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return service_slug(value)
    except InvalidInput as exc:  # pydantic adds the field's location to a ValueError
        raise ValueError(exc.message.removeprefix("service: ")) from None


ServiceName = Annotated[str, AfterValidator(_as_slug)]
"""A pydantic field holding a service name: normalised, and refused (with its location) if not a slug."""


def repository_service(repository: str) -> str:
    """The service a repository's events belong to when nothing maps it: its last path segment's slug."""
    return service_slug(repository.rstrip("/").rsplit("/", 1)[-1], field="repository")


def slug_or_none(raw: str | None) -> str | None:
    """The slug of a name from a bill's tag or a metric label, or None when it is no service name: such
    spend or usage is kept as unallocated (never refused, never dropped, never a second service)."""
    if not raw:
        return None
    name = normalise(raw)
    return name if is_slug(name) else None


def services_in_text(text: str, names: Mapping[str, str]) -> list[str]:
    """The services a text names as whole words, in the order they first appear: ``names`` maps each
    spelling (a slug, an alias) to its service. "cold starts take 40 s on ml-api" names ``ml-api``; "ml-apis"
    and "ml-api-v2" do not (a name's own characters — letters, digits, ``-``, ``_``, ``.`` — end a word)."""
    found: list[tuple[int, str]] = []
    lowered = text.lower()
    for spelling, service in names.items():
        if not spelling:
            continue
        match = re.search(rf"(?<![\w.-]){re.escape(spelling.lower())}(?![\w-]|\.\w)", lowered)
        if match is not None:
            found.append((match.start(), service))
    ordered: list[str] = []
    for _, service in sorted(found):
        if service not in ordered:
            ordered.append(service)
    return ordered
