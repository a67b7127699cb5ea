"""The ratio scale (multiplicative parallel trends), the pre-move window in the data's own weeks, and the
minimum detectable effect: hand-computed cells and the issue's sparse counts."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from service.core.vocab import PANEL_COLUMNS
from service.effects import did
from tests.worlds import world

MONDAY = date(2026, 3, 2)


def _week(t: int) -> date:
    return MONDAY + timedelta(weeks=t)


def _panel(values: dict[str, list[float]], weights: dict[str, list[float]] | None = None) -> pd.DataFrame:
    rows = [
        (service, _week(t), float(v), 1.0 if weights is None else weights[service][t])
        for service, series in values.items()
        for t, v in enumerate(series)
    ]
    return pd.DataFrame(rows, columns=PANEL_COLUMNS).dropna(subset=["value"])


def test_a_ratio_cell_is_the_treated_base_times_the_controls_ratio() -> None:
    """Counterfactual of cohort a at week 3 (base: weeks 1–2): a's base mean × (controls' week-3 total over
    their base total); the cell's relative effect is observed over that, minus 1."""
    values = {
        "a": [4.0, 6, 2, 1, 2],
        "b": [3.0, 5, 7, 9, 4],
        "c": [1.0, 2, 2, 4, 3],
        "d": [6.0, 4, 8, 10, 5],
    }
    moves = {"a": _week(3), "b": _week(4), "c": None, "d": None}
    options = did.Options(base_weeks=2, scale="ratio")
    cells = did.att_gt(_panel(values), moves, options).set_index(["cohort", "week"])
    y = {s: np.array(v) for s, v in values.items()}
    controls = "bcd"  # b moves at 4: still a control at week 3
    ratio = sum(y[s][3] for s in controls) / sum(y[s][1:3].mean() for s in controls)
    counterfactual = y["a"][1:3].mean() * ratio
    assert cells.loc[(_week(3), _week(3)), "relative"] == pytest.approx(y["a"][3] / counterfactual - 1)
    assert cells.loc[(_week(3), _week(3)), "att"] == pytest.approx(y["a"][3] - counterfactual)
    # b's first week: a has moved and is no control; base weeks 2–3
    ratio = sum(y[s][4] for s in "cd") / sum(y[s][2:4].mean() for s in "cd")
    assert cells.loc[(_week(4), _week(4)), "relative"] == pytest.approx(y["b"][4] / (y["b"][2:4].mean() * ratio) - 1)


def test_ratio_cells_pool_exposure_weighted_sums() -> None:
    """A weighted metric (lead time, weighted by deployments): a cell sums weight × value over the services,
    so a service-week of 9 deployments counts 9 times one of 1."""
    values = {"a": [10.0, 10, 20], "b": [10.0, 10, 5], "c": [10.0, 10, 10], "d": [10.0, 10, 10]}
    weights = {"a": [1.0, 1, 9], "b": [1.0, 1, 1], "c": [1.0, 1, 1], "d": [1.0, 1, 1]}
    moves = {"a": _week(2), "b": _week(2), "c": None, "d": None}
    cells = did.att_gt(_panel(values, weights), moves, did.Options(base_weeks=2, scale="ratio"))
    (relative,) = cells.loc[cells["week"] == _week(2), "relative"]
    assert relative == pytest.approx((9 * 20 + 1 * 5) / (9 * 10 + 1 * 10) - 1)


def test_a_multiplicative_calendar_and_effect_are_recovered_exactly_on_the_ratio_scale() -> None:
    """Noise-free: service levels differ ×1…×6, the calendar multiplies everyone, the move halves: exactly −50 %
    on the ratio scale, where the additive scale is biased by the level differences."""
    calendar = 1.1 ** np.arange(14) * np.array([1, 1.2, 0.9, 1.1, 1.3, 0.8, 1, 1.2, 0.9, 1.1, 1.3, 0.8, 1, 1.1])
    moves = {"a": 5, "b": 7, "c": 9, "d": None, "e": None, "f": None}
    values, first = {}, {}
    for i, (service, moved) in enumerate(moves.items()):
        t = np.arange(len(calendar))
        values[service] = list((i + 1) * calendar * np.where(moved is not None and t >= (moved or 0), 0.5, 1.0))
        first[service] = None if moved is None else _week(moved)
    effect = did.estimate(_panel(values), first, did.Options(scale="ratio", resamples=200))
    assert effect.scale == "ratio"
    assert effect.relative == pytest.approx(-0.5)
    assert effect.low == pytest.approx(-0.5)
    assert effect.high == pytest.approx(-0.5)
    assert effect.verdict == "changed"
    additive = did.estimate(_panel(values), first, did.Options(scale="additive", resamples=200))
    assert additive.relative is not None
    assert abs(additive.relative + 0.5) > 0.01


def test_sparse_counts_never_get_a_relative_interval_below_minus_100_percent() -> None:
    """The issue's incidents, 0.6 → 0.2 a week on 12 services: on the ratio scale no interval goes below
    −100 % and the two-thirds drop lies inside the interval; the additive scale's intervals reach it (clipped
    there: they would go below)."""
    spec = world.ISSUE_WORLDS["sparse_drop"]
    ratio, additive = did.Options(scale="ratio", resamples=299), did.Options(scale="additive", resamples=299)
    lows, inside, additive_lows = [], 0, []
    for seed in range(24):
        panel, first = world.generate(spec, seed)
        effect = did.estimate(panel, first, ratio)
        assert effect.low is not None
        lows.append(effect.low)
        assert effect.high is not None
        inside += effect.low <= spec.true_relative <= effect.high
        additive_low = did.estimate(panel, first, additive).low
        additive_lows.append(-2.0 if additive_low is None else additive_low)
    assert min(lows) > -1
    assert min(additive_lows) <= -1
    assert inside >= 20  # 90 % intervals: 20 of 24 or more 94 % of the time


def _sparse_before(pre_weeks_with_data: int) -> tuple[pd.DataFrame, dict[str, date | None]]:
    """Weekly data for 20 weeks; the three moved services (moving at week 12) report only every other week
    before their move, the last ``pre_weeks_with_data`` of them — calendar [g − 8, g) holds 4 at most."""
    rng = np.random.default_rng(5)
    values: dict[str, list[float]] = {}
    first: dict[str, date | None] = {}
    for i in range(7):
        series = list(10 + rng.normal(0, 1, 20) + 0.2 * np.arange(20))
        if i < 3:
            reported = set(range(10, -1, -2)[:pre_weeks_with_data])
            series = [v if t >= 12 or t in reported else float("nan") for t, v in enumerate(series)]
        values[f"s{i}"] = series
        first[f"s{i}"] = _week(12) if i < 3 else None
    return _panel(values), first


def test_the_pre_move_window_is_counted_in_the_datas_own_weeks() -> None:
    """Four weeks with data before the move (spread over eight calendar weeks) are enough to measure the
    pre-move drift; three are not. The base reaches back to the services' own last weeks with data."""
    tested = did.estimate(*_sparse_before(4), did.Options(resamples=200))
    assert tested.pre_trend.status != "not_tested"
    assert tested.pre_trend.weeks == 4
    untested = did.estimate(*_sparse_before(3), did.Options(resamples=200))
    assert untested.pre_trend.status == "not_tested"
    assert untested.reason == "pre_trend_untested"
    far_back = did.estimate(*_sparse_before(6), did.Options(resamples=200, base_weeks=6, min_pre_weeks=6))
    assert far_back.treated == 3  # six weeks with data reach back to week 0, beyond [g − 8, g)


def test_an_effect_reports_what_it_could_detect_and_the_group_time_table() -> None:
    panel, first = world.generate(world.ISSUE_WORLDS["sparse_null"], 3)
    effect = did.estimate(panel, first, did.Options(scale="ratio", resamples=199, cells=True))
    assert effect.mde is not None
    assert 0.1 < effect.mde < 5
    table = effect.group_time
    assert table
    assert {c.cohort for c in table} == {w for w in first.values() if w is not None}
    for cell in table:
        assert cell.treated >= 1
        assert cell.controls >= 1
        if cell.low is not None:
            assert cell.low > -1
            assert cell.high is not None
            assert cell.low <= cell.high
    post = [c for c in table if c.since >= 0]
    assert all(c.week >= c.cohort for c in post)
