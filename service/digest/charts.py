"""The digest's charts as inline SVG (matplotlib, no JavaScript): cohort bars, cohort lines and the
event study of the migration's effect by weeks since the move."""

from __future__ import annotations

import io
import math
from html import escape
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from service.core.vocab import COHORT_WORDS
from service.digest.models import BeforeAfter, EventPoint

COLOURS = {"migrated": "#2f7ed8", "not_migrated": "#b0b7c3"}


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "frictionlog"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figure(name: str, figure: Figure) -> str:
    return f'<figure class="chart" data-chart="{escape(name)}" tabindex="0">{_svg(figure)}</figure>'


def _legend_above(axes: Any) -> None:
    """The legend sits above the plot area, never over the bars or lines."""
    axes.legend(fontsize=9, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, borderaxespad=0.2)


def cohort_bars(title: str, weeks: list[str], series: dict[str, list[int]]) -> str:
    figure = Figure(figsize=(7.5, 2.6))
    axes = figure.subplots()
    bottom = [0] * len(weeks)
    for cohort in ("not_migrated", "migrated"):
        values = series[cohort]
        axes.bar(range(len(weeks)), values, bottom=bottom, color=COLOURS[cohort], label=COHORT_WORDS[cohort], width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_xticks(range(len(weeks)), [w[-3:] for w in weeks], fontsize=9)
    axes.set_ylim(bottom=0, top=max(1, max(bottom) * 1.1))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title, fontsize=11, loc="left", pad=18)
    _legend_above(axes)
    axes.spines[["top", "right"]].set_visible(False)
    return _figure(title, figure)


def cohort_lines(title: str, unit: str, weeks: list[str], series: dict[str, list[float | None]]) -> str:
    figure = Figure(figsize=(7.5, 2.2))
    axes = figure.subplots()
    for cohort in ("not_migrated", "migrated"):
        values = [math.nan if v is None else v for v in series.get(cohort, [])]
        if values:
            axes.plot(
                range(len(values)), values, marker="o", markersize=3, color=COLOURS[cohort], label=COHORT_WORDS[cohort]
            )
    axes.set_xticks(range(len(weeks)), [w[-3:] for w in weeks], fontsize=9)
    axes.set_ylim(bottom=0)
    axes.set_ylabel(unit, fontsize=9.5)
    axes.tick_params(axis="y", labelsize=9)
    axes.set_title(title, fontsize=11, loc="left", pad=18)
    _legend_above(axes)
    axes.spines[["top", "right"]].set_visible(False)
    return _figure(title, figure)


def event_study(items: list[BeforeAfter]) -> str:
    """One small panel per metric: the effect (% against the counterfactual) by weeks since the move, with
    its 90 % band. Weeks before the move should hover around zero; a lasting change stays off it."""
    shown = [item for item in items if _has_event_study(item)]
    if not shown:
        return "<p class='muted'>No event study yet: too few services moved with data on both sides.</p>"
    columns = min(3, len(shown))
    rows = math.ceil(len(shown) / columns)
    figure = Figure(figsize=(7.5, (2.1 if columns > 1 else 2.6) * rows))
    grid = figure.subplots(rows, columns, squeeze=False)
    for index, axes in enumerate(grid.flat):
        if index >= len(shown):
            axes.set_visible(False)
            continue
        _event_panel(axes, shown[index], bottom_row=index // columns == rows - 1)
    figure.tight_layout(h_pad=1.2)
    return _figure("event study", figure)


def _has_event_study(item: BeforeAfter) -> bool:
    """A metric with a claim to show: enough data, and at least one week with an estimate."""
    return item.verdict != "not_enough_data" and any(p.relative is not None for p in item.event_study)


def _event_panel(axes: Any, item: BeforeAfter, *, bottom_row: bool) -> None:
    """One metric's panel: its weekly estimates with their band, zero, and the move as a dashed line."""
    x, y, low, high = _event_series(item.event_study)
    colour = "#2f7ed8" if item.verdict == "changed" else "#6b7280"
    axes.fill_between(x, low, high, color=colour, alpha=0.18, linewidth=0)
    axes.plot(x, y, color=colour, marker="o", markersize=2.5, linewidth=1.2)
    axes.axhline(0, color="#1d1f23", linewidth=0.6)
    axes.axvline(-0.5, color="#b42318", linewidth=0.8, linestyle="--")
    axes.set_title(item.label, fontsize=11, loc="left")
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.tick_params(labelsize=9)
    axes.set_xlim(-8.5, 8.5)
    axes.set_ylim(*_event_limits(y, low, high))
    axes.spines[["top", "right"]].set_visible(False)
    if bottom_row:
        axes.set_xlabel("weeks since the move", fontsize=9)


def _event_series(event_study: list[EventPoint]) -> tuple[list[int], list[float], list[float], list[float]]:
    """(weeks, estimates, lows, highs) of the weeks with an estimate; a missing bound is the estimate."""
    x: list[int] = []
    y: list[float] = []
    low: list[float] = []
    high: list[float] = []
    for p in event_study:
        if p.relative is None:
            continue
        x.append(p.week)
        y.append(p.relative)
        low.append(p.low if p.low is not None else p.relative)
        high.append(p.high if p.high is not None else p.relative)
    return x, y, low, high


def _event_limits(y: list[float], low: list[float], high: list[float]) -> tuple[float, float]:
    """(bottom, top) of a panel's y axis."""
    # A week with one or two services can swing wildly: keep the axis on the estimates, not the widest band.
    reach = max([abs(v) for v in y] + [0.25])
    bottom, top = max(min(low), -1.0, -2 * reach), min(max(high), 2 * reach)
    if top - bottom < 0.05:  # a metric that did not move at all (every week alike): a flat line on ±25 %
        bottom, top = -0.25, 0.25
    return bottom, top


def friction_bars(by_category: dict[str, int]) -> str:
    if not by_category:
        return "<p class='muted'>No friction reported in the last four weeks.</p>"
    figure = Figure(figsize=(7.5, 0.4 + 0.32 * len(by_category)))
    axes = figure.subplots()
    names = list(by_category)[::-1]
    axes.barh(names, [by_category[n] for n in names], color="#e4572e")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title("Friction by category, last 4 weeks", fontsize=11, loc="left")
    axes.tick_params(labelsize=9)
    axes.spines[["top", "right"]].set_visible(False)
    return _figure("friction", figure)
