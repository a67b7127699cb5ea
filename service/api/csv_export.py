"""CSV for spreadsheets, safe to open: a text cell that a spreadsheet would run as a formula is defused.

Service names come from outside (a FOCUS tag, a webhook field, a metric name), so a cell beginning with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe (OWASP's CSV injection
advice); numbers are written as numbers.
"""

from __future__ import annotations

import io

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _defuse(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_csv(table: pd.DataFrame) -> str:
    text_columns = [c for c in table.columns if table[c].dtype == object or pd.api.types.is_string_dtype(table[c])]
    safe = table.assign(**{c: table[c].map(_defuse) for c in text_columns}) if text_columns else table
    buffer = io.StringIO()
    safe.to_csv(buffer, index=False)
    return buffer.getvalue()
