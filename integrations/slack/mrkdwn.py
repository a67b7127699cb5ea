"""Slack mrkdwn that user text cannot break out of: the one place text is escaped for Slack.

Slack parses ``<…>`` in every mrkdwn text object and in a message's ``text`` fallback: ``<!channel>``,
``<!here>``, ``<!subteam^…>``, ``<@U…>`` and ``<https://…|label>`` become live pings and disguised links.
Slack's documented rule is to escape ``&``, ``<`` and ``>`` as ``&amp;``, ``&lt;``, ``&gt;`` in text we
did not write (https://api.slack.com/reference/surfaces/formatting#escaping); then every character
shows as typed and nothing is live.

:class:`Mrkdwn` marks a string as safe mrkdwn (like ``markupsafe.Markup``): :func:`fmt` escapes each
argument that is not already ``Mrkdwn``, and the Block Kit helpers in ``blocks.py`` escape anything
handed to them that is not ``Mrkdwn``. So a new surface gets escaping by default, and the type checker
flags a plain ``str`` where mrkdwn is expected. The only live markup is what the app writes itself:
:func:`user_mention` for a Slack user id that Slack sent us.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


class Mrkdwn(str):
    """Text that is safe to send as Slack mrkdwn: any user text inside it has been escaped."""

    __slots__ = ()


def escape(text: object) -> Mrkdwn:
    """``&``, ``<``, ``>`` as entities (Slack's rule); already-safe ``Mrkdwn`` is returned unchanged."""
    if isinstance(text, Mrkdwn):
        return text
    return Mrkdwn(str(text).translate(_ESCAPES))


def fmt(template: str, *args: object, **kwargs: object) -> Mrkdwn:
    """``template.format`` with every argument escaped. The template is the app's own text (trusted)."""
    return Mrkdwn(template.format(*(escape(a) for a in args), **{k: escape(v) for k, v in kwargs.items()}))


def join(separator: str, parts: Iterable[object]) -> Mrkdwn:
    return Mrkdwn(escape(separator).join(escape(part) for part in parts))


def code(text: object) -> Mrkdwn:
    """An inline code span of user text: backticks (which would close the span) become ``ˋ``."""
    inner = escape(str(text).replace("`", "ˋ").replace("\n", " "))
    return Mrkdwn(f"`{inner}`") if inner.strip() else Mrkdwn("")


def quote(text: object) -> Mrkdwn:
    """A block quote of user text, every line quoted (a newline cannot end the quote and start markup)."""
    return Mrkdwn("\n".join(f">{line}" for line in escape(text).split("\n")))


def link(url: str, label: object) -> Mrkdwn:
    """``<url|label>`` for a URL the app built itself (from its settings): the label is escaped, and the URL
    may hold no ``<``, ``>``, ``|`` or space (they would end the link or start another)."""
    if any(c in url for c in "<>| \n") or not url.startswith(("https://", "http://")):
        raise ValueError(f"not a link the app can write: {url!r}")
    return Mrkdwn(f"<{url.replace('&', '&amp;')}|{escape(label)}>")


def user_mention(user_id: str | None) -> Mrkdwn | None:
    """``<@U…>`` for a well-formed Slack user id (one Slack sent us); None for anything else."""
    if user_id and _USER_ID.fullmatch(user_id):
        return Mrkdwn(f"<@{user_id}>")
    return None


def clip(text: Mrkdwn, limit: int) -> Mrkdwn:
    """Shorten safe text without cutting an entity (``&amp;``) in half."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return Mrkdwn(cut + "…")
