"""``?format=csv`` on every tabular read, and a 422 (not a silent JSON answer) where a table makes no sense."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel

from service.core.tabular import write_csv

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

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


def csv_response(rows: Sequence[Any], model: type[BaseModel] | type[DataclassInstance], name: str) -> Response:
    """Rows of a response model (pydantic, or a dataclass a response model carries) as a CSV download
    (columns: the model's fields, in order)."""
    if issubclass(model, BaseModel):
        text = write_csv((row.model_dump() for row in rows), list(model.model_fields))
    else:
        text = write_csv((asdict(row) for row in rows), [f.name for f in fields(model)])
    headers = {"Content-Disposition": f'attachment; filename="frictionlog-{name}.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)
