"""Which parser reads which source. Workers look parsers up here by the inbox row's source."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from integrations import friction_api, generic
from service.errors import InvalidInput
from service.records import InboxMeta, ParseResult

Parser = Callable[[InboxMeta, Any], ParseResult]
"""(the inbox row's metadata, its decoded JSON body) → canonical records, Ignored, or InvalidInput."""


def _generic(_meta: InboxMeta, body: Any) -> ParseResult:
    return generic.parse(body)


PARSERS: dict[str, Parser] = {
    generic.SOURCE: _generic,
    friction_api.SOURCE: friction_api.parse,
}


def parse_inbox_body(source: str, meta: InboxMeta, body: str) -> ParseResult:
    parser = PARSERS.get(source)
    if parser is None:
        raise InvalidInput(f"no parser for source {source!r}", field="source")
    try:
        decoded = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"stored body is not JSON: {exc}") from None
    return parser(meta, decoded)
