"""A page's filters, read from its query as one model (FastAPI's query parameter model)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

Text = Annotated[str | None, Query(max_length=128)]
"""A filter's value: free text, at most 128 characters; None when unset."""


class PageFilters(BaseModel):
    """Filters from a page's query: a page's subclass names them, each ``Text`` (a parameter of the query)."""

    def shown(self) -> dict[str, str]:
        """The filters as the page's form shows them: an unset one is empty."""
        return {name: value or "" for name, value in self}
