"""CSV for spreadsheets, safe to open: the one CSV writer every CSV output uses.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets (``=HYPERLINK(…)``, ``@SUM(…)``, DDE). OWASP's rule
(https://owasp.org/www-community/attacks/CSV_Injection): prefix such a cell with a single quote, so it
shows as the text it is. Numbers keep their sign (``-3.5`` stays a number); only strings are touched.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def neutralise(value: str) -> str:
    """A string cell a spreadsheet would run as a formula, quoted so it is shown as text (OWASP's rule)."""
    if value.startswith(FORMULA_PREFIXES) and not (value[0] in "+-" and _is_number(value)):
        return "'" + value
    return value


def cell(value: Any) -> Any:
    """One value as a CSV cell: None and NaN are empty, times ISO 8601, lists and dicts JSON, text neutralised."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, list | tuple | dict):
        value = json.dumps(value, default=str, ensure_ascii=False)
    return neutralise(str(value))


def write_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Rows (mappings) as CSV text with a header line, every cell through :func:`cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(name) for name in columns])
    for row in rows:
        writer.writerow([cell(row.get(name)) for name in columns])
    return buffer.getvalue()


def frame_csv(frame: pd.DataFrame) -> str:
    """A DataFrame as CSV (its index dropped), through the same cells as :func:`write_csv`."""
    columns = [str(name) for name in frame.columns]
    return write_csv((dict(zip(columns, values, strict=True)) for values in frame.itertuples(index=False)), columns)
