"""The estimator against an independent implementation: ``diff-diff``'s Callaway & Sant'Anna (MIT, a
test-only dependency). On random staggered panels, additive scale with a one-week base (Callaway &
Sant'Anna's base period g − 1, diff-diff's ``base_period="universal"``), every group-time effect and the
simple aggregate must agree to 1e-9, with never-treated and with not-yet-treated controls."""

from __future__ import annotations

import warnings
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from diff_diff import CallawaySantAnna

from service.core.vocab import PANEL_COLUMNS
from service.effects import did
from service.effects.result import Controls

MONDAY = date(2026, 3, 2)


def _random_panel(seed: int) -> tuple[pd.DataFrame, dict[str, date | None], pd.DataFrame]:
    """(our panel, our first treated weeks, the same data in diff-diff's long form). Periods 1..T; a
    cohort's first treated period is 3..T (two pre periods at least); 0 in diff-diff means never."""
    rng = np.random.default_rng(seed)
    periods = int(rng.integers(7, 12))
    units = int(rng.integers(18, 30))
    cohorts = rng.choice(np.arange(3, periods + 1), size=3, replace=False)
    first = np.where(rng.random(units) < 0.35, 0, rng.choice(cohorts, size=units))
    level = rng.normal(10, 3, units)
    calendar = np.cumsum(rng.normal(0.5, 1.0, periods))
    rows = []
    for i in range(units):
        for t in range(1, periods + 1):
            effect = 2.0 + 0.5 * (t - first[i]) if first[i] and t >= first[i] else 0.0
            rows.append((f"u{i:02d}", t, level[i] + calendar[t - 1] + effect + rng.normal(0, 1), int(first[i])))
    long = pd.DataFrame(rows, columns=["unit", "time", "y", "first_treat"])
    panel = pd.DataFrame(
        {
            "service": long["unit"],
            "week_start": [MONDAY + timedelta(weeks=int(t) - 1) for t in long["time"]],
            "value": long["y"],
            "weight": 1.0,
        },
        columns=PANEL_COLUMNS,
    )
    moves = {f"u{i:02d}": (MONDAY + timedelta(weeks=int(first[i]) - 1) if first[i] else None) for i in range(units)}
    return panel, moves, long


def _oracle(long: pd.DataFrame, controls: str) -> tuple[dict[tuple[int, int], float], float]:
    model = CallawaySantAnna(control_group=controls, base_period="universal", estimation_method="reg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model.fit(long, outcome="y", unit="unit", time="time", first_treat="first_treat")
    cells = {
        (int(g), int(t)): float(v["effect"])
        for (g, t), v in result.group_time_effects.items()
        if np.isfinite(v["effect"])
    }
    return cells, float(result.overall_att)


@pytest.mark.parametrize("controls", ["never_treated", "not_yet_treated"])
@pytest.mark.parametrize("seed", range(6))
def test_group_time_effects_and_the_simple_aggregate_equal_diff_diff(controls: Controls, seed: int) -> None:
    panel, moves, long = _random_panel(seed)
    horizon = int(long["time"].max())
    options = did.Options(base_weeks=1, min_pre_weeks=1, horizon=horizon, controls=controls, scale="additive")
    ours = did.att_gt(panel, moves, options)
    period = {MONDAY + timedelta(weeks=t - 1): t for t in range(1, horizon + 1)}
    mine = {(period[c], period[w]): a for c, w, a in zip(ours["cohort"], ours["week"], ours["att"], strict=True)}
    theirs, overall = _oracle(long, controls)
    post = {key for key in theirs if key[1] >= key[0]}
    assert post, "the oracle estimated no post-move cell"
    assert post <= set(mine)
    for key, value in theirs.items():
        if key in mine:
            assert mine[key] == pytest.approx(value, abs=1e-9), key
        else:
            assert value == pytest.approx(0.0, abs=1e-9), key  # the base period itself
    effect = did.estimate(panel, moves, options)
    assert effect.att == pytest.approx(overall, abs=1e-9)
