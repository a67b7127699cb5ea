"""``?format=csv`` on every tabular read, and a 422 (not a silent JSON answer) where a table makes no sense."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel

from service.core.tabular import write_csv

Format = Annotated[
    Literal["json", "csv"], Query(description="`csv` for spreadsheets (formula-looking cells are quoted)")
]


def _json_only(
    format: Annotated[  # the query parameter's name
        Literal["json"], Query(description="Only JSON: this answer is not a table")
    ] = "json",
) -> None:
    del format


JsonOnly = Depends(_json_only)
"""For a read whose answer is not a table: ``?format=csv`` is a 422 naming ``format``."""


def csv_response(rows: Sequence[BaseModel], model: type[BaseModel], name: str) -> Response:
    """Rows of a response model as a CSV download (columns: the model's fields, in order)."""
    columns = list(model.model_fields)
    text = write_csv((row.model_dump() for row in rows), columns)
    headers = {"Content-Disposition": f'attachment; filename="frictionlog-{name}.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)
