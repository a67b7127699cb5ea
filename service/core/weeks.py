"""Weeks, the one place: ISO week labels and windows, the last complete week, the recent weeks the app and
the digest jobs list, and the same over pandas Series of UTC instants. Every week is Monday 00:00 to the
next Monday 00:00 in the configured time zone (FRICTIONLOG_TIMEZONE)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from service.core.errors import InvalidInput


def week_label(moments: pd.Series, tz: str) -> pd.Series:
    """ISO week labels (``2026-W47``) of UTC instants, seen in the zone ``tz``."""
    local = moments.dt.tz_convert(tz)
    iso = local.dt.isocalendar()
    labels: pd.Series = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    return labels


def week_start(moments: pd.Series, tz: str) -> pd.Series:
    """Monday 00:00 of each instant's ISO week in ``tz``, as a UTC instant."""
    local = moments.dt.tz_convert(tz)
    midnight = local.dt.normalize() - pd.to_timedelta(local.dt.day_of_week, unit="D")
    starts: pd.Series = midnight.dt.tz_convert("UTC")
    return starts


def week_window(week: str, tz: str) -> tuple[datetime, datetime]:
    """``2026-W47`` → Monday 00:00 to the next Monday 00:00 in ``tz``, as aware datetimes."""
    try:
        year, number = week.upper().split("-W")
        if not 2000 <= int(year) < 2100:
            raise ValueError(year)
        monday = date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        raise InvalidInput(f"week must look like 2026-W47, not {week!r}", field="week") from None
    start = datetime.combine(monday, time(0), tzinfo=ZoneInfo(tz))
    return start, start + timedelta(weeks=1)


def last_full_week(now: datetime, tz: str) -> str:
    local = now.astimezone(ZoneInfo(tz)) - timedelta(weeks=1)
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


RECENT_WEEKS = 16
"""The complete weeks the app lists digests for, and the digest jobs keep for every audience."""


def recent_weeks(now: datetime, tz: str, count: int = RECENT_WEEKS) -> list[str]:
    """The last ``count`` complete weeks, newest first (the current week is never one)."""
    return [last_full_week(now - timedelta(weeks=i), tz) for i in range(count)]


AVERAGE_WEEKS = 4
"""The "4-week average" a week is compared with: the four whole weeks before it."""
LAST_WEEKS = 4
""""The last 4 weeks" a digest's cohort table and friction chart cover: its own week and the three before."""


def average_window(week_start: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the weeks a week starting at ``week_start`` is averaged against."""
    return week_start - timedelta(weeks=AVERAGE_WEEKS), week_start


def last_weeks_start(week_start: datetime) -> datetime:
    """Where "the last 4 weeks" up to and including the week starting at ``week_start`` begin."""
    return week_start - timedelta(weeks=LAST_WEEKS - 1)
