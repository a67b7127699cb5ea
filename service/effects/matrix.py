"""The service × week matrices the estimator works on, the cluster bootstrap's draws and its intervals.

Every bootstrap replicate is a row of multiplicities (how often each service was drawn), so a replicate's
group means are one matrix product: all replicates at once.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy.stats import norm as normal
from scipy.stats import t as student_t


@dataclass(frozen=True, slots=True)
class Matrices:
    services: list[str]
    weeks: list[date]
    y: np.ndarray
    w: np.ndarray
    valid: np.ndarray
    g: np.ndarray
    """Index of each service's first treated week; +inf never (or after the panel), −1 always treated."""


def matrices(panel: pd.DataFrame, first_treated: Mapping[str, date | None]) -> Matrices:
    services = sorted(panel["service"].unique().tolist())
    if panel.empty:
        return Matrices([], [], np.zeros((0, 0)), np.zeros((0, 0)), np.zeros((0, 0), bool), np.zeros(0))
    first, last = min(panel["week_start"]), max(panel["week_start"])
    weeks = [first + pd.Timedelta(weeks=i).to_pytimedelta() for i in range((last - first).days // 7 + 1)]
    row = {s: i for i, s in enumerate(services)}
    col = {d: j for j, d in enumerate(weeks)}
    y = np.full((len(services), len(weeks)), np.nan)
    w = np.zeros_like(y)
    i = panel["service"].map(row).to_numpy()
    j = panel["week_start"].map(col).to_numpy()
    y[i, j] = panel["value"].to_numpy(float)
    w[i, j] = np.nan_to_num(panel["weight"].to_numpy(float))
    valid = np.isfinite(y) & (w > 0)
    g = np.full(len(services), np.inf)
    for s, k in row.items():
        moved = first_treated.get(s)
        if moved is not None:
            offset = (moved - first).days // 7
            g[k] = np.inf if offset >= len(weeks) else (-1 if offset <= 0 else offset)
    return Matrices(services, weeks, y, w, valid, g)


def draws(g: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """(1 + resamples) × services multiplicities: row 0 the data as is; then a bootstrap that resamples
    ever-moved and never-moved services separately, so no replicate lacks either kind. The same services
    and moves give the same draws: every metric of a digest shares them (remembered, read-only)."""
    return _draws(np.isfinite(g).tobytes(), len(g), resamples, seed)


@functools.lru_cache(maxsize=8)
def _draws(moved: bytes, n: int, resamples: int, seed: int) -> np.ndarray:
    ever = np.frombuffer(moved, dtype=bool)
    rng = np.random.default_rng(seed)
    counts = np.zeros((resamples + 1, n))
    counts[0] = 1
    rows = np.arange(resamples)[:, None] * n
    for stratum in (np.flatnonzero(ever), np.flatnonzero(~ever)):
        if len(stratum):
            picks = rng.integers(0, len(stratum), size=(resamples, len(stratum)))
            counts[1:] += np.bincount((rows + stratum[picks]).ravel(), minlength=resamples * n).reshape(resamples, n)
    counts.setflags(write=False)
    return counts


def window_mean(m: Matrices, lo: int, hi: int) -> np.ndarray:
    ww = np.where(m.valid[:, lo:hi], m.w[:, lo:hi], 0.0)
    total = ww.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (ww * np.nan_to_num(m.y[:, lo:hi])).sum(axis=1) / total, np.nan)


def few_cluster_factor(clusters: int, confidence: float, fitted: int = 2) -> float:
    """How much to widen a bootstrap interval over few services: the bootstrap's variance is short by
    (G − k)/G, and a normal quantile is too small for G − k degrees of freedom (Student's t instead)."""
    df = max(clusters - fitted, 1)
    tail = 1 - (1 - confidence) / 2
    return float(np.sqrt(clusters / df) * student_t.ppf(tail, df) / normal.ppf(tail))


def interval(
    values: np.ndarray, centre: float, confidence: float, widen: float = 1.0
) -> tuple[float | None, float | None]:
    """Percentile interval of bootstrap replicates, stretched by ``widen`` around the estimate."""
    finite = values[np.isfinite(values)]
    if len(finite) < 10 or not np.isfinite(centre):
        return None, None
    tail = (1 - confidence) / 2
    low, high = np.quantile(finite, tail), np.quantile(finite, 1 - tail)
    return float(centre + widen * (low - centre)), float(centre + widen * (high - centre))


def finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
