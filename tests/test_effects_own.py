"""Each moved service against itself (``service.effects.own``): the digest's per-service table and the web
app's services table show these figures, so the rule is tested once, here."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from service.effects.own import own_changes
from service.effects.panel import mask_move_weeks

W32 = date(2026, 8, 3)  # a Monday: ISO week 32 of 2026


def week(n: int) -> date:
    return W32 + timedelta(weeks=n - 32)


def panel(values: dict[str, dict[int, tuple[float, float]]]) -> pd.DataFrame:
    rows = [
        {"service": s, "week_start": week(n), "value": v, "weight": w}
        for s, weeks in values.items()
        for n, (v, w) in weeks.items()
    ]
    return pd.DataFrame(rows, columns=["service", "week_start", "value", "weight"])


def test_eight_weeks_each_side_and_the_mixed_week_of_a_mid_week_move_in_neither() -> None:
    moved = datetime(2026, 10, 7, 12, tzinfo=UTC)  # Wednesday of week 41: week 41 is half and half
    values = dict.fromkeys(range(33, 41), (2.0, 1.0)) | {32: (50.0, 1.0), 41: (100.0, 1.0)}
    values |= dict.fromkeys(range(42, 50), (4.0, 1.0)) | {50: (50.0, 1.0)}
    moves = {"ml-api": moved, "auth": None}
    frame = mask_move_weeks(panel({"ml-api": values, "auth": dict.fromkeys(range(32, 51), (9.0, 1.0))}), moves, "UTC")

    (change,) = own_changes(frame, moves, "UTC")

    assert (change.service, change.moved_on) == ("ml-api", week(42))
    assert (change.before, change.after) == (2.0, 4.0)  # week 32 and week 50 are a ninth week: left out
    assert change.relative == 1.0


def test_a_side_is_the_weighted_mean_so_a_week_of_one_deployment_does_not_count_as_much_as_a_week_of_ten() -> None:
    moved = datetime(2026, 10, 12, tzinfo=UTC)  # Monday midnight: week 42 is wholly on the new platform
    values = {40: (10.0, 1.0), 41: (1.0, 9.0), 42: (2.0, 10.0), 43: (8.0, 0.0), 44: (float("nan"), 5.0)}
    (change,) = own_changes(panel({"svc": values}), {"svc": moved}, "UTC")
    assert change.moved_on == week(42)
    assert change.before == pytest.approx((10 * 1 + 1 * 9) / 10)
    assert change.after == 2.0  # a zero weight or a NaN is no week at all
    assert change.relative == pytest.approx(2.0 / 1.9 - 1)


def test_only_one_side_has_no_change_and_a_service_with_neither_is_not_listed() -> None:
    just_moved = datetime(2026, 11, 9, tzinfo=UTC)
    moves = {"new": just_moved, "quiet": datetime(2026, 9, 7, tzinfo=UTC)}
    frame = panel({"new": dict.fromkeys(range(40, 46), (3.0, 1.0)), "quiet": {60 - 20: (float("nan"), 0.0)}})
    changes = own_changes(frame, moves, "UTC")
    assert [c.service for c in changes] == ["new"]
    assert changes[0].before == 3.0
    assert changes[0].after is None
    assert changes[0].relative is None
