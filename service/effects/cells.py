"""The group-time cells of the staggered comparison and their sums over bootstrap replicates.

A cohort g is the services whose first week on the new platform is g. For each of its weeks t (from
``horizon`` weeks before the move on) that has both moved and comparison services, a cell compares the
moved services' change since their base (their own last ``base_weeks`` weeks with data before g) with the
comparison services' change since the same point. Two scales (``service.core.vocab.EffectScale``):

- additive (Callaway & Sant'Anna 2021): ATT(g, t) = mean_T(Y_t − Ȳ_base) − mean_C(Y_t − Ȳ_base); the
  counterfactual level is observed minus ATT. Every service counts once.
- ratio (multiplicative parallel trends; Poisson-style imputation, Wooldridge 2023): the moved services'
  counterfactual total is their base total times the controls' ratio Σ_C Y_t / Σ_C Ȳ_base, and the effect
  is observed over counterfactual. Sums are exposure-weighted (a service-week counts by its weight: its
  deployments, trials, 1 for a count), which pools a cohort's sparse counts instead of averaging ratios.

Every bootstrap replicate is a row of ``k`` (how often each service was drawn), so a replicate's sums are
matrix products, all replicates at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from service.core.vocab import EffectScale
from service.effects.matrix import Matrices, base_mean

CHUNK_COLUMNS = 256
"""Cohorts' cells are worked on in chunks of about this many (cohort, week) cells, so that a chunk's
(replicates × cells) arrays stay small enough to be fast (2 MB each)."""

SUMS = ("weight", "effect", "level", "before", "counterfactual")
"""What ``reduced`` returns per cell group: the treated weight (services, or exposure on the ratio scale),
the effect (weight × ATT), the observed level, the pre-move level and the counterfactual, each a sum
(weight × mean)."""


@dataclass(frozen=True, slots=True)
class Design:
    """One cohort's cells. Masks and values are services × weeks, 0 outside their mask. ``tw``: the treated
    weight (1, or the exposure on the ratio scale), ``ty``/``tb`` its weighted value and base; ``cw``,
    ``cy``, ``cb`` the same of the controls."""

    g: int
    weeks: np.ndarray
    members: np.ndarray
    base: np.ndarray
    treated: np.ndarray
    control: np.ndarray
    tw: np.ndarray
    ty: np.ndarray
    tb: np.ndarray
    cw: np.ndarray
    cy: np.ndarray
    cb: np.ndarray

    @property
    def since(self) -> np.ndarray:
        """Weeks since the move, per cell."""
        since: np.ndarray = self.weeks - self.g
        return since


def design(
    m: Matrices,
    g: int,
    *,
    scale: EffectScale,
    base_weeks: int,
    horizon: int,
    controls: str,
    min_pre_weeks: int,
    never_before: bool = False,
) -> Design | None:
    """Cohort g's cells from ``horizon`` weeks before its move to the panel's end. ``never_before``: the
    weeks before the move compare with the never-moved services only (the pre-move drift's comparison,
    ``service.effects.did``)."""
    base, held = base_mean(m, g, base_weeks)
    members = (m.g == g) & np.isfinite(base) & (held >= min_pre_weeks)
    if not members.any():
        return None
    first = max(0, g - horizon)
    weeks = np.arange(first, len(m.weeks))
    ok = m.valid[:, first:] & np.isfinite(base)[:, None]
    never = np.repeat((~np.isfinite(m.g))[:, None], len(weeks), axis=1)
    if controls == "never_treated":
        control = never
    else:
        control = m.g[:, None] > np.maximum(weeks, g)[None, :]
        if never_before:
            control[:, weeks < g] = never[:, weeks < g]
    control &= ok
    treated = members[:, None] & ok
    keep = treated.any(axis=0) & control.any(axis=0)
    ok, treated, control = ok[:, keep], treated[:, keep], control[:, keep]
    y = np.where(ok, m.y[:, first:][:, keep], 0.0)
    b = np.repeat(np.nan_to_num(base)[:, None], len(y[0]) if len(y) else 0, axis=1)
    w = m.w[:, first:][:, keep] if scale == "ratio" else ok.astype(float)
    if scale == "additive":
        # the control side needs only its change since base: kept in ``cy`` (``cb`` unused, 0)
        return Design(
            g, weeks[keep], members, base, treated, control, treated.astype(float),
            np.where(treated, y, 0.0), np.where(treated, b, 0.0),
            control.astype(float), np.where(control, y - b, 0.0), np.zeros_like(y),
        )  # fmt: skip
    return Design(
        g, weeks[keep], members, base, treated, control, np.where(treated, w, 0.0),
        np.where(treated, w * y, 0.0), np.where(treated, w * b, 0.0),
        np.where(control, w, 0.0), np.where(control, w * y, 0.0), np.where(control, w * b, 0.0),
    )  # fmt: skip


def chunks(designs: list[Design]) -> list[list[Design]]:
    out: list[list[Design]] = []
    width = 0
    for d in designs:
        if not out or width + len(d.weeks) > CHUNK_COLUMNS:
            out.append([])
            width = 0
        out[-1].append(d)
        width += len(d.weeks)
    return out


def _stack(chunk: list[Design], name: str, rows: np.ndarray | None = None) -> np.ndarray:
    return np.hstack([getattr(d, name) if rows is None else getattr(d, name)[rows] for d in chunk])


def _controls(chunk: list[Design], k: np.ndarray, scale: EffectScale) -> tuple[np.ndarray, np.ndarray]:
    """Per replicate and cell, the comparison side's numerator and denominator: Σ_C w·Y_t and Σ_C w·Ȳ_base
    (ratio), or Σ_C (Y_t − Ȳ_base) and n_C (additive); one product for both."""
    names = ("cy", "cb") if scale == "ratio" else ("cy", "cw")
    both = k @ np.hstack([_stack(chunk, name) for name in names])
    half = both.shape[1] // 2
    return both[:, :half], both[:, half:]


def _counterfactual(s_tw: np.ndarray, s_tb: np.ndarray, ratio: np.ndarray, scale: EffectScale) -> np.ndarray:
    cf: np.ndarray = s_tb * ratio if scale == "ratio" else s_tb + s_tw * ratio
    return cf


def per_cell(chunk: list[Design], k: np.ndarray, scale: EffectScale) -> np.ndarray:
    """(5, replicates, cells): ``SUMS`` of every cell of ``chunk`` in every replicate; 0 in a replicate
    that drew no treated or no usable comparison service (with a pre-move level, on the ratio scale) for
    the cell. A replicate without a treated service of a cell has all its treated sums 0 already."""
    own = np.flatnonzero(np.logical_or.reduce([d.members for d in chunk]))
    k_own = k[:, own]
    s_tw, s_ty, s_tb = (k_own @ _stack(chunk, name, own) for name in ("tw", "ty", "tb"))
    num, den = _controls(chunk, k, scale)
    cell = den > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        cf = _counterfactual(s_tw, s_tb, num / den, scale)
    sums = [s_tw, s_ty - cf, s_ty, s_tb, cf]
    return np.stack([np.where(cell, values, 0.0) for values in sums])


def reduced(chunk: list[Design], k: np.ndarray, scale: EffectScale, reduce: np.ndarray) -> np.ndarray:
    """(5, replicates, columns of ``reduce``): ``per_cell`` summed by ``reduce`` (cells × sums). Where
    every replicate drew a usable comparison service for every cell, the sums linear in ``k`` (weight,
    level, pre-move level) are reduced before they are multiplied."""
    num, den = _controls(chunk, k, scale)
    if not den.size or den.min() <= 0:
        out: np.ndarray = per_cell(chunk, k, scale) @ reduce
        return out
    own = np.flatnonzero(np.logical_or.reduce([d.members for d in chunk]))
    k_own = k[:, own]
    tw, ty, tb = (_stack(chunk, name, own) for name in ("tw", "ty", "tb"))
    linear = k_own @ np.hstack([tw @ reduce, ty @ reduce, tb @ reduce])
    weight, level, before = linear.reshape(len(k), 3, -1).transpose(1, 0, 2)
    ratio = num / den
    own_side = (k_own @ tb) * ratio if scale == "ratio" else (k_own @ tw) * ratio
    cf = own_side @ reduce + (0.0 if scale == "ratio" else before)
    return np.stack([weight, level - cf, level, before, cf])
