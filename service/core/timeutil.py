"""Aware-UTC time helpers: storage is always UTC; weeks are ISO weeks in the configured zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.core.errors import InvalidInput

# Far enough to cover real backfills, near enough to reject a milliseconds-as-seconds mistake.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_AHEAD = timedelta(days=2)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (SQLite hands them back naive). A time whose UTC falls outside years
    1–9999 (``0001-01-01T00:00:00+01:00``) is a ValueError, which validation turns into a 422."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} is outside the years a time can have in UTC") from None


_latest_seen = EARLIEST
"""A bound on what "two days from now" was when last computed: a time up to it is in range without asking
the clock again (the bound only grows with the clock); past it, the clock is read anew."""


def _in_range(parsed: datetime) -> bool:
    global _latest_seen
    if parsed > _latest_seen:
        _latest_seen = utcnow() + LATEST_AHEAD
    return EARLIEST <= parsed <= _latest_seen


def quick_timestamp(value: str) -> datetime | None:
    """The usual spelling (``2026-10-05T11:52:00Z``, ``…+02:00``) read as :func:`parse_timestamp` reads it,
    without its checks: a request can carry dozens (a deployment's commits, a push's). None for anything
    else, or a doubt (no offset, out of range): the full path then decides, and words the refusal."""
    if not value[:1].isdigit():
        return None
    try:
        quick = datetime.fromisoformat(value)
        if quick.tzinfo is None:
            return None
        quick = quick.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return quick if EARLIEST <= quick <= _latest_seen else None


def parse_timestamp(value: object, *, field: str) -> datetime:
    """RFC 3339 text or unix seconds → aware UTC; anything else, or an absurd date, is InvalidInput."""
    if type(value) is str and (quick := quick_timestamp(value)) is not None:
        return quick
    if isinstance(value, bool) or value is None:
        raise InvalidInput(f"{field} must be an RFC 3339 timestamp or unix seconds", field=field)
    try:
        if isinstance(value, str):  # the usual case first
            text = value.strip()
            if text[-1:] == "z":  # fromisoformat reads "Z" itself
                text = text[:-1] + "+00:00"
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                raise InvalidInput(f"{field} needs a time zone offset (e.g. Z)", field=field)
            parsed = parsed.astimezone(UTC)
        elif isinstance(value, int | float):
            parsed = datetime.fromtimestamp(float(value), UTC)
        elif isinstance(value, datetime):
            parsed = as_utc(value)
        else:
            raise InvalidInput(f"{field} must be an RFC 3339 timestamp or unix seconds", field=field)
    except (ValueError, OverflowError, OSError) as exc:
        raise InvalidInput(f"{field} is not a valid timestamp: {value!r}", field=field) from exc
    if not _in_range(parsed):
        raise InvalidInput(f"{field} is out of range (2000-01-01 to two days from now)", field=field)
    return parsed
