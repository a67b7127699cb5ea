"""Weeks over pandas Series of UTC instants: ISO labels and Monday starts, in a configured time zone."""

from __future__ import annotations

import pandas as pd


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
