"""Weeks, the one place: ISO week labels and windows, the last complete week, the recent weeks the app and
the digest jobs list, and the same over pandas Series of UTC instants. Every week is Monday 00:00 to the
next Monday 00:00 in the configured time zone (FRICTIONLOG_TIMEZONE)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from service.core.errors import InvalidInput
from service.core.timeutil import as_utc

if TYPE_CHECKING:  # pandas is imported where a Series is handled: the CLI and the edge start without it
    import pandas as pd


def week_label(moments: pd.Series, tz: str) -> pd.Series:
    """ISO week labels (``2026-W47``) of UTC instants, seen in the zone ``tz``."""
    local = moments.dt.tz_convert(tz)
    iso = local.dt.isocalendar()
    labels: pd.Series = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    return labels


def week_start_instants(moments: pd.Series, tz: str) -> pd.Series:
    """Monday 00:00 of each instant's ISO week in ``tz``, as a UTC instant."""
    local = moments.dt.tz_convert(tz)
    import pandas as pd

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


def week_of(moment: datetime, tz: str) -> str:
    """The ISO week label (``2026-W47``) of one instant, seen in the zone ``tz``."""
    year, week, _ = moment.astimezone(ZoneInfo(tz)).isocalendar()
    return f"{year}-W{week:02d}"


def last_full_week(now: datetime, tz: str) -> str:
    return week_of(now - timedelta(weeks=1), tz)


RECENT_WEEKS = 16
"""The complete weeks the app lists digests for, and the digest jobs keep for every audience."""


def recent_weeks(now: datetime, tz: str, count: int = RECENT_WEEKS) -> list[str]:
    """The last ``count`` complete weeks, newest first (the current week is never one)."""
    return [last_full_week(now - timedelta(weeks=i), tz) for i in range(count)]


AVERAGE_WEEKS = 4
"""The "4-week average" a week is compared with: the four whole weeks before it."""
LAST_WEEKS = 4
""""The last 4 weeks" a digest's cohort table and friction chart cover: its own week and the three before."""


def average_window(start: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the weeks a week starting at ``start`` is averaged against."""
    return start - timedelta(weeks=AVERAGE_WEEKS), start


def last_weeks_start(start: datetime) -> datetime:
    """Where "the last 4 weeks" up to and including the week starting at ``start`` begin."""
    return start - timedelta(weeks=LAST_WEEKS - 1)


def week_start(moment: datetime, tz: ZoneInfo) -> date:
    local = as_utc(moment).astimezone(tz).date()
    return local - timedelta(days=local.weekday())


def week_instant(moment: datetime, tz: str) -> datetime:
    zone = ZoneInfo(tz)
    return datetime.combine(week_start(moment, zone), time(0), tzinfo=zone).astimezone(UTC)


def week_start_dates(moments: pd.Series, tz: str) -> pd.Series:
    """Vectorised :func:`week_start`: the local Monday (a ``date``) of each UTC instant."""
    local = moments.dt.tz_convert(tz)
    import pandas as pd

    monday = local.dt.normalize().dt.tz_localize(None) - pd.to_timedelta(local.dt.day_of_week, unit="D")
    days: pd.Series = monday.dt.date
    return days


def mondays(start: date, end: date) -> list[date]:
    """The Mondays from ``start`` up to, not including, ``end``."""
    count = max(0, (end - start).days // 7)
    return [start + timedelta(weeks=i) for i in range(count)]


def complete_weeks(start: datetime, end: datetime, tz: str) -> list[date]:
    """Mondays (in ``tz``) of the ISO weeks lying wholly inside [start, end)."""
    zone = ZoneInfo(tz)
    first = week_start(start, zone)
    if datetime.combine(first, datetime.min.time(), zone) < start:
        first += timedelta(days=7)
    weeks = []
    monday = first
    while datetime.combine(monday + timedelta(days=7), datetime.min.time(), zone) <= end:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def complete_weeks_end(end: datetime, now: datetime, tz: str) -> date:
    """The Monday after the last complete week at or before ``end``: an unfinished week is never a week."""
    zone = ZoneInfo(tz)
    return min(week_start(end, zone), week_start(now, zone))
