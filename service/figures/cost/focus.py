"""Reading FOCUS cost exports (FinOps Open Cost and Usage Specification 1.0–1.3) in a stream.

CSV, gzip'd CSV and Parquet are read row by row (``focus_files``: every line, cell, decompressed stream and
Parquet row group bounded), and each row is folded at
once into a running sum keyed by (provider, billing period, service, platform, category, currency,
charge period, provider service): memory grows with the number of distinct keys, never with the number
of rows, so a million-line bill imports in bounded memory.

Columns read (names as the specification defines them):
- ``ChargePeriodStart`` / ``ChargePeriodEnd`` (required): the charge's own period.
- ``EffectiveCost``, falling back to ``BilledCost`` when empty (one of the two columns is required);
  credits and refunds are negative amounts and are summed as such.
- ``BillingCurrency`` (required), ``ChargeCategory`` (Usage, Purchase, Tax, Credit, Adjustment).
- ``BillingPeriodStart`` (else the calendar month of the charge), ``ProviderName`` / ``ServiceProviderName``:
  together the scope a re-import replaces — only when the file declares it (a row's ``BillingPeriodStart``);
  a month a row merely falls in is never replaced.
- ``ServiceName`` (kept as the line's resource: "Amazon EC2"), ``ResourceId`` (looked up in
  FRICTIONLOG_SERVICE_ALIASES when no tag names the service), ``Tags`` (a JSON object).
- ``DETAIL_COLUMNS`` (ResourceType, SkuMeter, SkuPriceDetails, ChargeDescription, ServiceSubcategory), when
  present: joined into the row's description, summed per line as the line's ``details`` (description →
  amount) for rules read at query time (the GPU rule, ``service.figures.cost.gpu``). They are not part of
  the line's key, so a changed rule never changes a line's external id.

Any problem raises :class:`FocusError` naming the data row (1 = the first row after the header) and the
column; nothing is returned, so nothing is imported.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from service.core.errors import InvalidInput
from service.core.identity import slug_or_none
from service.core.timeutil import EARLIEST, LATEST_AHEAD, utcnow
from service.figures.cost.currency import Currencies
from service.figures.cost.focus_files import FocusError

REQUIRED = ("ChargePeriodStart", "ChargePeriodEnd", "BillingCurrency")
COST_COLUMNS = ("EffectiveCost", "BilledCost")
PROVIDER_COLUMNS = ("ProviderName", "ServiceProviderName")
PLATFORM_TAG = "platform"
_CACHE_LIMIT = 100_000
DETAIL_COLUMNS = ("ResourceType", "SkuMeter", "SkuPriceDetails", "ChargeDescription", "ServiceSubcategory")
MAX_DETAILS = 64
"""Distinct descriptions kept per line; the amounts of further ones are summed under ``OTHER_DETAIL``."""
OTHER_DETAIL = ""
MAX_DETAIL_CHARS = 256


MAX_CHARGE_PERIOD = timedelta(days=400)
"""Longer than any billing period (a year's commitment and a month's slack): one 160-byte row covering
1700–2300 once wrote ~31,000 rollup rows and locked the database for 30 s."""


@dataclass(frozen=True, slots=True)
class FocusPolicy:
    """What reading a bill depends on besides the bill."""

    service_tags: Sequence[str] = ("service", "app")
    currencies: Currencies = field(default_factory=Currencies)
    aliases: Mapping[str, str] = field(default_factory=dict)
    """Outside names (a ResourceId, a tag value) → service slug."""


LineKey = tuple[str, datetime, str | None, str | None, str, str, datetime, datetime, str | None]
"""(provider, billing period start, service, tagged platform, category, currency, charge start, charge end,
provider service name)."""


@dataclass(slots=True)
class FocusSummary:
    """A whole file, folded: sums per key, and which (provider, billing period) scopes it covers."""

    lines: dict[LineKey, float] = field(default_factory=dict)
    details: dict[LineKey, dict[str, float]] = field(default_factory=dict)
    """Per line, its rows' descriptions (``DETAIL_COLUMNS``) → their summed amount."""
    rows: int = 0
    periods: set[tuple[str, datetime]] = field(default_factory=set)
    """Every (provider, billing period) its lines fall in."""
    declared: set[tuple[str, datetime]] = field(default_factory=set)
    """Those named by a row's ``BillingPeriodStart``: the only scopes a re-import replaces."""
    currencies: set[str] = field(default_factory=set)


class _Reader:
    """Folds rows into a FocusSummary; parses of repeated values (timestamps, tag objects) are cached."""

    def __init__(self, policy: FocusPolicy) -> None:
        self.policy = policy
        self.summary = FocusSummary()
        self._times: dict[Any, datetime] = {}
        self._tags: dict[Any, dict[str, Any]] = {}
        self._rates: dict[str, float] = {}
        self._service_tags = [_fold(name) for name in policy.service_tags]

    def header(self, columns: Sequence[str], row: int) -> None:
        for name in REQUIRED:
            if name not in columns:
                raise FocusError("required column is missing", row=row, column=name)
        if not any(name in columns for name in COST_COLUMNS):
            raise FocusError("required column is missing (or BilledCost)", row=row, column="EffectiveCost")

    def time(self, value: Any, row: int, column: str) -> datetime:
        if isinstance(value, list | dict):  # unhashable, and no timestamp: refused naming row and column
            return _timestamp(value, row, column)
        cached = self._times.get(value)
        if cached is not None:
            return cached
        parsed = _timestamp(value, row, column)
        if len(self._times) < _CACHE_LIMIT:
            self._times[value] = parsed
        return parsed

    def tags(self, value: Any, row: int) -> dict[str, Any]:
        """The row's tags with keys folded (lower case, a provider's ``user:`` prefix dropped), so the tag
        ``user:Service`` of an AWS export matches ``service``."""
        if isinstance(value, str) and _text(value) is None:
            return {}
        if value is None:
            return {}
        if isinstance(value, dict):
            return _folded(value)
        if isinstance(value, list):  # a Parquet MAP column arrives as [(key, value), ...]
            if all(isinstance(pair, dict) and set(pair) >= {"key", "value"} for pair in value):
                return _folded({pair["key"]: pair["value"] for pair in value})  # BigQuery's key/value records
            if not all(isinstance(pair, tuple | list) and len(pair) == 2 for pair in value):
                raise FocusError("Tags must be a map (key → value), not a list", row=row, column="Tags")
            return _folded(dict(value))
        cached = self._tags.get(value)
        if cached is not None:
            return cached
        try:
            parsed = json.loads(value)
        except (json.JSONDecodeError, TypeError):
            raise FocusError("Tags must be a JSON object", row=row, column="Tags") from None
        if not isinstance(parsed, dict):
            raise FocusError("Tags must be a JSON object", row=row, column="Tags")
        folded = _folded(parsed)
        if len(self._tags) < _CACHE_LIMIT:
            self._tags[value] = folded
        return folded

    def add(self, record: Mapping[str, Any], row: int) -> None:
        for column, value in record.items():  # a NUL is no text the database can keep
            if isinstance(value, str) and "\x00" in value:
                raise FocusError("contains a NUL character", row=row, column=str(column).replace("\x00", "")[:64])
        start = self.time(record.get("ChargePeriodStart"), row, "ChargePeriodStart")
        end = self.time(record.get("ChargePeriodEnd"), row, "ChargePeriodEnd")
        if end < start:
            raise FocusError("ChargePeriodEnd is before ChargePeriodStart", row=row, column="ChargePeriodEnd")
        if end - start > MAX_CHARGE_PERIOD:
            raise FocusError(
                f"a charge period is at most {MAX_CHARGE_PERIOD.days} days", row=row, column="ChargePeriodEnd"
            )
        amount = _amount(record, row)
        currency = _text(record.get("BillingCurrency"))
        if currency is None or len(currency) != 3 or not currency.isalpha():
            raise FocusError(f"not an ISO 4217 currency code: {currency!r}", row=row, column="BillingCurrency")
        currency = currency.upper()
        if currency not in self._rates:
            try:
                self._rates[currency] = self.policy.currencies.rate(currency)
            except InvalidInput as exc:
                raise FocusError(exc.message, row=row, column="BillingCurrency") from None
        billing = record.get("BillingPeriodStart")
        declared = _text(billing) is not None
        period = (
            self.time(billing, row, "BillingPeriodStart")
            if declared
            else start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        )
        provider = next((p for c in PROVIDER_COLUMNS if (p := _text(record.get(c))) is not None), "")
        if declared:
            self.summary.declared.add((provider[:128], period))
        tags = self.tags(record.get("Tags"), row)
        service = self.service(tags, record)
        platform = _text(tags.get(PLATFORM_TAG))  # else the catalogue's, resolved when the line is written
        category = _text(record.get("ChargeCategory")) or "Usage"
        key: LineKey = (
            provider[:128],
            period,
            service,
            platform[:64] if platform else None,
            category[:64],
            currency,
            start,
            end,
            (_text(record.get("ServiceName")) or None),
        )
        lines = self.summary.lines
        lines[key] = lines.get(key, 0.0) + amount
        add_detail(self.summary.details.setdefault(key, {}), self.detail(record), amount)
        self.summary.periods.add((provider[:128], period))
        self.summary.currencies.add(currency)
        self.summary.rows += 1

    def detail(self, record: Mapping[str, Any]) -> str:
        parts = []
        for column in DETAIL_COLUMNS:
            value = record.get(column)
            text = _text(json.dumps(value, sort_keys=True, default=str) if isinstance(value, dict | list) else value)
            if text is not None:
                parts.append(text)
        return " | ".join(parts)[:MAX_DETAIL_CHARS]

    def service(self, tags: Mapping[str, Any], record: Mapping[str, Any]) -> str | None:
        aliases = self.policy.aliases
        for name in self._service_tags:
            value = _text(tags.get(name))
            if value:  # a tag that is no service name is unallocated spend (service.core.identity)
                return slug_or_none(aliases.get(value, value))
        resource = _text(record.get("ResourceId"))
        if resource and resource in aliases:
            return slug_or_none(aliases[resource])
        return None


def add_detail(details: dict[str, float], description: str, amount: float) -> None:
    """Add ``amount`` to a line's ``description``; past ``MAX_DETAILS`` descriptions, to ``OTHER_DETAIL``."""
    if description not in details and len(details) >= MAX_DETAILS:
        description = OTHER_DETAIL
    details[description] = details.get(description, 0.0) + amount


def _fold(key: object) -> str:
    return str(key).strip().lower().removeprefix("user:")


def _folded(tags: Mapping[Any, Any]) -> dict[str, Any]:
    return {_fold(key): value for key, value in tags.items()}


NULL_SPELLINGS = frozenset({"", "null", "\\n"})
"""How FOCUS producers write a null in CSV: an empty cell, the text ``NULL`` (any case), or ``\\N``. Every
nullable column reads them as absent; Parquet's own nulls arrive as None."""


def _text(value: Any) -> str | None:
    """A cell's text, or None for every null spelling (:data:`NULL_SPELLINGS`)."""
    if value is None:
        return None
    text = str(value).strip()
    return None if text.lower() in NULL_SPELLINGS else text


def _timestamp(value: Any, row: int, column: str) -> datetime:
    """A FOCUS datetime as aware UTC, within the generic form's bounds (2000-01-01 to two days from now):
    a year 1 or 9999 is a sender's bug, refused naming row and column, never a 500 or a 7,000-year period."""
    try:
        parsed = _parsed(value, row, column)
    except (OverflowError, OSError):
        raise FocusError(f"not a usable timestamp: {str(value)[:64]!r}", row=row, column=column) from None
    if parsed < EARLIEST or parsed > utcnow() + LATEST_AHEAD:
        raise FocusError("out of range (2000-01-01 to two days from now)", row=row, column=column)
    return parsed


def _parsed(value: Any, row: int, column: str) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str | None):  # a Parquet list or struct where a timestamp belongs
        raise FocusError(f"not a timestamp: a {type(value).__name__}", row=row, column=column)
    text = _text(value)
    if text is None:
        raise FocusError("a timestamp is required", row=row, column=column)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    elif text.endswith(" UTC"):  # BigQuery writes a TIMESTAMP to CSV as 2026-10-05 00:00:00 UTC
        text = text[:-4] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise FocusError(f"not an ISO 8601 timestamp: {text[:64]!r}", row=row, column=column) from None
    # FOCUS datetimes are UTC; a value without an offset is taken as UTC, as the specification requires.
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _amount(record: Mapping[str, Any], row: int) -> float:
    for column in COST_COLUMNS:
        value = record.get(column)
        if _text(value) is None:
            continue
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise FocusError(f"not a number: {value!r}", row=row, column=column) from None
        if not math.isfinite(number):
            raise FocusError(f"not a finite number: {value!r}", row=row, column=column)
        return number
    raise FocusError("no cost: EffectiveCost and BilledCost are both empty", row=row, column="EffectiveCost")


def read_focus(
    rows: Iterator[Mapping[str, Any]], policy: FocusPolicy, *, progress: Callable[[int], None] | None = None
) -> FocusSummary:
    """Fold a FOCUS file's rows into sums; FocusError on the first bad row (then nothing is kept)."""
    reader = _Reader(policy)
    checked = False
    for index, record in enumerate(rows, start=1):
        if not checked:
            reader.header(list(record), row=0)
            checked = True
        reader.add(record, index)
        if progress is not None and index % 10_000 == 0:
            progress(10_000)
    if not checked:
        raise FocusError("the file has no data rows", row=1, column=None)
    if progress is not None:
        progress(reader.summary.rows % 10_000)
    return reader.summary


def external_id(key: LineKey) -> str:
    """A cost line's stable id within the FOCUS source: the same key in a re-import is the same line."""
    provider, period, service, platform, category, currency, start, end, name = key
    parts = [provider, period.isoformat(), service or "", platform or "", category, currency]
    parts += [start.isoformat(), end.isoformat(), name or ""]
    return "sha256:" + hashlib.sha256("\0".join(parts).encode()).hexdigest()
