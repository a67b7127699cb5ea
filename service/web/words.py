"""Numbers in words: one place for plurals ("1 incident", "2 incidents", "2 people")."""

from __future__ import annotations

IRREGULAR = {"person": "people", "category": "categories", "theme": "themes", "reply": "replies"}


def noun(count: float, singular: str, many: str | None = None) -> str:
    return singular if count == 1 else (many or IRREGULAR.get(singular) or f"{singular}s")


def plural(count: int | float | None, singular: str, many: str | None = None) -> str:
    """``1 incident``, ``2 incidents``, ``0 incidents``; ``many`` for the irregular ones."""
    value = 0 if count is None else count
    shown = f"{value:,}" if isinstance(value, int) or float(value).is_integer() else f"{value:,.1f}"
    if not isinstance(value, int) and float(value).is_integer():
        shown = f"{int(value):,}"
    return f"{shown} {noun(value, singular, many)}"
