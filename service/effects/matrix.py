"""The service × week matrices the estimator works on, the cluster bootstrap's draws and its intervals.

Every bootstrap replicate is a row of multiplicities (how often each service was drawn), so a replicate's
group means are one matrix product: all replicates at once.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from service.effects.quantiles import quantiles


@dataclass(frozen=True, slots=True)
class Matrices:
    services: list[str]
    weeks: list[date]
    y: np.ndarray
    valid: np.ndarray
    g: np.ndarray
    """Index of each service's first treated week; +inf never (or after the panel), −1 always treated."""
    cw: np.ndarray
    """Running sums along the weeks (a leading 0 column) of the valid cells' weights, so that a window's
    total is a difference (``window_mean``); a window without a valid cell has exactly 0."""
    cwy: np.ndarray
    """The same of weight × value."""
    w: np.ndarray
    """Each valid cell's weight (its exposure: deployments, trials, 1 for a count), 0 elsewhere."""
    cv: np.ndarray
    """Running counts along the weeks (a leading 0 column) of each service's weeks with data."""


def matrices(panel: pd.DataFrame, first_treated: Mapping[str, date | None]) -> Matrices:
    if panel.empty:
        empty = np.zeros((0, 0))
        return Matrices([], [], empty, np.zeros((0, 0), bool), np.zeros(0), empty, empty, empty, empty)
    i, names = pd.factorize(panel["service"], sort=True)
    services = [str(s) for s in names]
    j, starts = pd.factorize(panel["week_start"])
    first = min(starts)
    offsets = np.array([(d - first).days // 7 for d in starts], dtype=np.int64)
    weeks = [first + timedelta(weeks=n) for n in range(int(offsets.max()) + 1)]
    y = np.full((len(services), len(weeks)), np.nan)
    w = np.zeros_like(y)
    columns = offsets[j]
    y[i, columns] = panel["value"].to_numpy(float)
    w[i, columns] = np.nan_to_num(panel["weight"].to_numpy(float))
    valid = np.isfinite(y) & (w > 0)
    g = np.full(len(services), np.inf)
    for k, s in enumerate(services):
        moved = first_treated.get(s)
        if moved is not None:
            offset = (moved - first).days // 7
            g[k] = np.inf if offset >= len(weeks) else (-1 if offset <= 0 else offset)
    ww = np.where(valid, w, 0.0)
    zero = np.zeros((len(services), 1))
    cw = np.hstack([zero, np.cumsum(ww, axis=1)])
    cwy = np.hstack([zero, np.cumsum(ww * np.where(valid, y, 0.0), axis=1)])
    cv = np.hstack([zero, np.cumsum(valid, axis=1)])
    return Matrices(services, weeks, y, valid, g, cw, cwy, ww, cv)


def strata(g: np.ndarray) -> np.ndarray:
    """The bootstrap's strata, a label per service: each cohort of two or more services on its own (its
    services are resampled within it, so every replicate keeps the cohort's size and timing), the services
    that moved alone in their week together, and the never-moved together."""
    labels = np.where(np.isfinite(g), g, -2.0)
    values, inverse, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    alone = (sizes[inverse] == 1) & np.isfinite(g)
    out: np.ndarray = np.where(alone, -3.0, labels)
    return out


def draws(g: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """(1 + resamples) × services multiplicities: row 0 the data as is; then a bootstrap that resamples
    services within their stratum (``strata``), so no replicate lacks a kind of service. The same services
    and moves give the same draws: every metric of a digest shares them (remembered, read-only)."""
    return _draws(strata(g).tobytes(), len(g), resamples, seed)


@functools.lru_cache(maxsize=8)
def _draws(labels: bytes, n: int, resamples: int, seed: int) -> np.ndarray:
    stratum_of = np.frombuffer(labels, dtype=float)
    rng = np.random.default_rng(seed)
    counts = np.zeros((resamples + 1, n))
    counts[0] = 1
    rows = np.arange(resamples)[:, None] * n
    for label in np.unique(stratum_of):
        stratum = np.flatnonzero(stratum_of == label)
        if len(stratum):
            picks = rng.integers(0, len(stratum), size=(resamples, len(stratum)))
            counts[1:] += np.bincount((rows + stratum[picks]).ravel(), minlength=resamples * n).reshape(resamples, n)
    counts.setflags(write=False)
    return counts


def base_start(m: Matrices, g: int, weeks: int) -> np.ndarray:
    """Per service, the first week of its base before week ``g``: its last ``weeks`` weeks *with data*
    (the data's own weeks, not calendar ones), or the panel's first week when it has fewer."""
    target = m.cv[:, g] - weeks
    start: np.ndarray = np.maximum((m.cv[:, : g + 1] <= target[:, None]).sum(axis=1) - 1, 0)
    return start


def base_mean(m: Matrices, g: int, weeks: int) -> tuple[np.ndarray, np.ndarray]:
    """Each service's weighted mean over its base before ``g`` (``base_start``; NaN without data) and how
    many weeks with data that base holds."""
    lo = base_start(m, g, weeks)
    rows = np.arange(len(m.services))
    total = m.cw[:, g] - m.cw[rows, lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(total > 0, (m.cwy[:, g] - m.cwy[rows, lo]) / total, np.nan)
    return mean, m.cv[:, g] - m.cv[rows, lo]


def window_mean(m: Matrices, lo: int, hi: int) -> np.ndarray:
    """Each service's weighted mean over the weeks [lo, hi); NaN where it has no valid week there."""
    total = m.cw[:, hi] - m.cw[:, lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (m.cwy[:, hi] - m.cwy[:, lo]) / total, np.nan)


def few_cluster_factor(clusters: int, confidence: float, fitted: int = 2) -> float:
    """How much to widen a bootstrap interval over few services: the bootstrap's variance is short by
    (G − k)/G, and a normal quantile is too small for G − k degrees of freedom (Student's t instead)."""
    df = max(clusters - fitted, 1)
    t, z = quantiles(df, 1 - (1 - confidence) / 2)  # scipy.special's, tabulated at the usual level
    return float(np.sqrt(clusters / df) * t / z)


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


def finite_quantiles(values: np.ndarray, finite: np.ndarray, q: list[float]) -> np.ndarray:
    """``np.nanquantile(np.where(finite, values, nan), q, axis=0)`` (its default, linear method), the same
    numbers, for every column at once instead of one quantile per column: each column's finite values are
    sorted to its top (NaN last), and each column's quantile is numpy's linear rule on its own count n —
    the index (n − 1)·q, the values either side of it, and numpy's ``_lerp`` between them (from the lower
    one below a fraction of 0.5, back from the upper one at or above it). tests/test_startup_figures.py
    holds it to ``np.nanquantile`` bit for bit. A column without a finite value gives NaN."""
    out = np.full((len(q), values.shape[1]), np.nan)
    counts = finite.sum(axis=0)
    columns = np.flatnonzero(counts > 0)
    if not len(columns):
        return out
    ranked = np.sort(np.where(finite, values, np.nan)[:, columns], axis=0)
    n = counts[columns]
    index = (n - 1) * np.asarray(q, dtype=float)[:, None]
    below = np.floor(index).astype(np.intp)
    last = index >= n - 1  # at or past the last value: the last value (numpy's index -1)
    lower = np.where(last, n - 1, below)
    upper = np.where(last, n - 1, below + 1)
    picked = np.arange(len(columns))
    a, b = ranked[lower, picked], ranked[upper, picked]
    fraction = index - np.where(last, -1, below)
    step = b - a
    out[:, columns] = np.where(fraction >= 0.5, b - step * (1 - fraction), a + step * fraction)
    return out


def intervals(
    values: np.ndarray, centres: np.ndarray, confidence: float, widen: float = 1.0
) -> list[tuple[float | None, float | None]]:
    """``interval`` of every column of ``values`` (replicates × columns) at once: one quantile pass."""
    if not values.shape[1]:
        return []
    tail = (1 - confidence) / 2
    finite = np.isfinite(values)
    if finite.all():
        low, high = np.quantile(values, [tail, 1 - tail], axis=0)
    else:
        low, high = finite_quantiles(values, finite, [tail, 1 - tail])
    ok = (finite.sum(axis=0) >= 10) & np.isfinite(centres)
    lows, highs = centres + widen * (low - centres), centres + widen * (high - centres)
    return [(float(a), float(b)) if good else (None, None) for a, b, good in zip(lows, highs, ok, strict=True)]


def finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
