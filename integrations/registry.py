"""Which parser reads which source. Workers look parsers up here by the inbox row's source."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from integrations import generic
from service.errors import InvalidInput
from service.records import ParseResult

Parser = Callable[[str, Any], ParseResult]
"""(event_type, decoded JSON body) → canonical records, Ignored, or InvalidInput."""


def _generic(_event_type: str, body: Any) -> ParseResult:
    return generic.parse(body)


PARSERS: dict[str, Parser] = {generic.SOURCE: _generic}


def parse_inbox_body(source: str, event_type: str, body: str) -> ParseResult:
    parser = PARSERS.get(source)
    if parser is None:
        raise InvalidInput(f"no parser for source {source!r}", field="source")
    try:
        decoded = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"stored body is not JSON: {exc}") from None
    return parser(event_type, decoded)
