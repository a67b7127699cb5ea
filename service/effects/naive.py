"""The moved services against themselves, before and after: what is said when there is no comparison group
(not an effect — the calendar is not taken out)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

from service.core.vocab import Verdict
from service.effects.matrix import few_cluster_factor, interval, matrices, window_mean
from service.effects.result import Effect, Options


def before_after(
    panel: pd.DataFrame, first_treated: Mapping[str, date | None], options: Options | None = None
) -> Effect:
    """No comparison group: each moved service's mean after its move against its own ``base_weeks``
    before, bootstrapped over services. Not an effect — the calendar is not taken out."""
    options = options or Options()
    m = matrices(panel, first_treated)
    n_weeks = len(m.weeks)
    rows = []
    for i, g in enumerate(m.g):
        if np.isfinite(g) and 0 < g < n_weeks:
            gi = int(g)
            before = window_mean(m, max(0, gi - options.base_weeks), gi)[i]
            after = window_mean(m, gi, n_weeks)[i]
            if np.isfinite(before) and np.isfinite(after):
                rows.append((before, after))
    data = np.array(rows, dtype=float).reshape(-1, 2)
    units = len(data)
    if units < options.min_treated:
        return Effect("before_after", "not_enough_data", "few_treated", units, 0, 0)
    if data[:, 0].mean() <= 0:
        after_mean = float(data[:, 1].mean())
        return Effect("before_after", "not_enough_data", "no_baseline", units, 0, 0, before=0.0, after=after_mean)
    rng = np.random.default_rng(options.seed)
    picks = rng.integers(0, units, size=(options.resamples, units))
    means = data[picks].mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = means[:, 1] / means[:, 0] - 1
    before, after = float(data[:, 0].mean()), float(data[:, 1].mean())
    widen = few_cluster_factor(max(units, 2), options.confidence, fitted=1)
    low, high = interval(ratios, after / before - 1, options.confidence, widen)
    after_low, after_high = interval(means[:, 1], after, options.confidence, widen)
    verdict: Verdict = "no_clear_change" if low is None or high is None or low <= 0 <= high else "changed"
    return Effect(
        "before_after",
        verdict,
        None,
        units,
        0,
        0,
        before=before,
        after=after,
        after_low=after_low,
        after_high=after_high,
        att=after - before,
        relative=after / before - 1,
        low=low,
        high=high,
    )
