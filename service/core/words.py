"""Numbers in words: one place for plurals ("1 incident", "2 incidents", "2 people"), for every output
(web pages, the digest in Slack, HTML and text). Standard library only."""

from __future__ import annotations

IRREGULAR = {"person": "people", "category": "categories", "theme": "themes", "reply": "replies"}


def noun(count: float, singular: str, many: str | None = None) -> str:
    return singular if count == 1 else (many or IRREGULAR.get(singular) or f"{singular}s")


def plural(count: int | float | None, singular: str, many: str | None = None) -> str:
    """``1 incident``, ``2 incidents``, ``0 incidents``; ``many`` for the irregular ones."""
    value: int | float = 0 if count is None else count
    if not isinstance(value, int):  # shown to one decimal, and the noun agrees with what is shown: "1 hour"
        value = round(float(value), 1)
        value = int(value) if value.is_integer() else value
    shown = f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"
    return f"{shown} {noun(value, singular, many)}"
