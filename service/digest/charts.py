"""The one chart module of the app and the digest (its HTML page and email): SVG as pure functions, numbers
in, markup out, no JavaScript.

Each bar or point carries a ``<title>``, so hovering shows its value in any browser; values are also written
on the chart (``value`` labels, 11 px: each bar's total, each event-study estimate, each line's last value;
every n-th where they would overlap), and every number is in a table under each chart (a toggle that needs
no script), so nothing needs hover on a phone. Colours come
from classes: the app's stylesheet and the HTML digest's inline style (``CHART_STYLE``) define them for
light and dark. A chart is drawn at its own size (``WIDTH`` px) and never scaled down, so its 11 px labels
stay 11 px; a narrower screen scrolls it. Its axes are named, with units, in words under the title. Every
text is escaped here, the one builder that writes chart markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

from markupsafe import Markup

from service.core.words import noun, plural

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 40, 20, 28
LABEL_CHAR_PX = 6.5
"""The width one character of an 11 px value label takes, at most (digits, sign, %): how densely to label."""


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float | None]
    css: str
    """A class of the stylesheet: s-migrated, s-legacy, s-friction, s-incident, s-deploy."""


def _scale(value: float) -> tuple[float, float]:
    """(top, step) of a y axis from 0 with at most five gridlines at round steps (1, 2 or 5 × 10^k)."""
    if value <= 0:
        return 1.0, 1.0
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return float(step * math.ceil(value / step)), float(step)


def _fmt(value: float | None, unit: str) -> str:
    """A value with its unit, in the singular when it is one (``unit`` is the singular: ``deploy``)."""
    if value is None:
        return "no data"
    if unit:
        return plural(value, unit)
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _axis(top: float, step: float, plot_h: float) -> list[str]:
    parts = []
    ticks = round(top / step)
    for i in range(ticks + 1):
        value = step * i
        y = TOP + plot_h - plot_h * value / top
        label = f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    return parts


def label_every(periods: int, slot: float, chars: int) -> int:
    """Label every n-th period so that labels of ``chars`` characters never overlap (1: every one)."""
    if periods <= 0:
        return 1
    return max(1, math.ceil((chars * LABEL_CHAR_PX + 4) / slot))


def _labelled(i: int, periods: int, every: int) -> bool:
    """Whether period ``i`` carries its value label: every n-th, counted back from the newest (always shown)."""
    return (periods - 1 - i) % every == 0


def _value(x: float, y: float, text: str, anchor: str = "middle") -> str:
    return f'<text class="value" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'


def _short(value: float) -> str:
    """A value label: no unit (the axes line names it), thousands as k."""
    if abs(value) >= 10_000:
        return f"{value / 1000:,.0f}k"
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.1f}"


def _x_labels(labels: Sequence[str], slot: float) -> list[str]:
    every = max(1, len(labels) // 12 + (1 if len(labels) % 12 else 0)) if len(labels) > 12 else 1
    return [
        f'<text class="tick" x="{LEFT + slot * (i + 0.5):.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
        f"{escape(label[-3:] if len(label) > 4 else label)}</text>"
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def weekly(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str,
    chart_id: str,
    style: Literal["bars", "lines"] = "bars",
    axes: str = "",
    move_before: int | None = None,
    href: Callable[[str], str] | None = None,
) -> Markup:
    """Weekly values per series: stacked bars (``style="bars"``, each week's total written above its bar) or
    one line per series (``"lines"``: gaps where a week has no value, each line's last value written beside
    it). Each segment's or point's tooltip names the week, the series and the value; the move as a dashed
    line before week ``move_before`` (an index of ``labels``). ``href`` (bars): a week's bar links to the
    events behind it (``href(label)``), one link per bar, named by its week and total."""
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    if style == "bars":
        totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
        grid = _Grid(*_scale(max(totals, default=0)), slot, plot_h)
        drawn = _stacked_bars(grid, labels, series, totals, unit, href)
    else:
        grid = _Grid(*_scale(max((v for s in series for v in s.values if v is not None), default=0)), slot, plot_h)
        drawn = _lines(grid, labels, series, unit)
    parts = _axis(grid.top, grid.step, plot_h) + drawn
    parts += _move_line(move_before, len(labels), slot, plot_h)
    parts += _x_labels(labels, slot)
    return _figure(title, chart_id, parts, labels, series, unit, axes=axes, focusable=href is None)


@dataclass(frozen=True, slots=True)
class _Grid:
    """A weekly chart's y axis (its ``top`` value and gridline ``step``), the width of a week and the height."""

    top: float
    step: float
    slot: float
    plot_h: float

    def y_of(self, value: float) -> float:
        return TOP + self.plot_h - self.plot_h * value / self.top


def _stacked_bars(
    grid: _Grid,
    labels: Sequence[str],
    series: Sequence[Series],
    totals: Sequence[float],
    unit: str,
    href: Callable[[str], str] | None,
) -> list[str]:
    slot, parts = grid.slot, []
    for i, label in enumerate(labels):
        base = 0.0
        bar = []
        for s in series:
            value = s.values[i] or 0
            if value <= 0:
                continue
            h = grid.plot_h * value / grid.top
            bar.append(
                f'<rect class="{s.css}" x="{LEFT + slot * i + slot * 0.12:.1f}" y="{grid.y_of(base + value):.1f}" '
                f'width="{slot * 0.76:.1f}" height="{h:.1f}"><title>{escape(label)} · {escape(s.name)}: '
                f"{escape(_fmt(value, unit))}</title></rect>"
            )
            base += value
        if bar and href is not None:
            name = f"{label}: {_fmt(totals[i], unit)}, the events behind it"
            bar = [f'<a class="bar-link" href="{escape(href(label))}" aria-label="{escape(name)}">{"".join(bar)}</a>']
        parts += bar
    every = label_every(len(labels), slot, max((len(_short(t)) for t in totals), default=1))
    for i, total in enumerate(totals):
        if total > 0 and _labelled(i, len(labels), every):
            parts.append(_value(LEFT + slot * (i + 0.5), grid.y_of(total) - 4, _short(total)))
    return parts


def points_with_intervals(
    title: str,
    labels: Sequence[str],
    estimates: Sequence[float | None],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    *,
    unit: str,
    chart_id: str,
    percent: bool = False,
    move_before: int | None = None,
    axes: str = "",
) -> Markup:
    """An event-study chart: one point per period relative to the move, with its interval as a shaded band
    and a whisker, zero marked, and (``move_before``: the index of the first period after it) the move as a
    dashed line. ``percent``: the values are fractions, shown as signed percentages."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    scale = _EventScale(_event_span(estimates, lows, highs, percent=percent), plot_h, percent)
    slot = plot_w / max(len(labels), 1)
    parts = _event_axis(scale)
    parts += _interval_band(scale, slot, lows, highs)
    parts += _move_line(move_before, len(labels), slot, plot_h)
    shown = [scale.show(e) for e in estimates if e is not None]
    every = label_every(len(labels), slot, max((len(t) for t in shown), default=1))
    for i, label in enumerate(labels):
        parts += _event_point(scale, LEFT + slot * (i + 0.5), label, estimates[i], lows[i], highs[i], unit)
        estimate = estimates[i]
        if estimate is not None and _labelled(i, len(labels), every):
            y = scale.y_of(estimate)
            y = y - 9 if y > TOP + 14 else y + 18  # above the point, or below it at the top edge
            parts.append(_value(LEFT + slot * (i + 0.5), y, scale.show(estimate)))
    parts += _x_labels(labels, slot)
    rows = [Series("estimate", estimates, "point"), Series("low", lows, ""), Series("high", highs, "")]
    cell = scale.cell if percent else None
    return _figure(title, chart_id, parts, labels, rows, unit, legend=False, cell=cell, axes=axes)


def _event_span(
    estimates: Sequence[float | None],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    *,
    percent: bool,
) -> float:
    """Half the y axis of an event-study chart: the largest value with a tenth to spare, 1 when all are 0."""
    values = [v for v in [*estimates, *lows, *highs] if v is not None]
    biggest = max((abs(v) for v in values), default=1.0)
    # A period with one or two services can have a huge interval: keep the axis on the estimates (at most
    # twice the largest), clip the band at the edge; hover and the table keep the true numbers.
    reach = max((abs(v) for v in estimates if v is not None), default=0.0)
    if reach > 0:
        biggest = min(biggest, 2 * max(reach, 0.25 if percent else 0.0))
    return biggest * 1.1 if biggest > 0 else 1.0


@dataclass(frozen=True, slots=True)
class _EventScale:
    """The y axis of an event-study chart: zero in the middle, ±``span`` at the edges (values beyond are
    clipped to them); ``percent``: values are fractions, shown as signed percentages."""

    span: float
    plot_h: float
    percent: bool

    def y_of(self, value: float) -> float:
        return TOP + self.plot_h / 2 - (self.plot_h / 2) * max(-self.span, min(self.span, value)) / self.span

    def show(self, value: float) -> str:
        return f"{value:+.0%}" if self.percent else f"{value:+.2f}"

    def cell(self, value: float | None) -> str:
        return "no data" if value is None else self.show(value)

    @property
    def edge(self) -> str:
        return f"{self.span:.0%}" if self.percent else f"{self.span:.2g}"


def _event_axis(scale: _EventScale) -> list[str]:
    """The zero line and the three ticks: +edge at the top, 0, -edge at the bottom."""
    zero = scale.y_of(0)
    return [
        f'<line class="zero" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{zero:.1f}" y2="{zero:.1f}"/>',
        f'<text class="tick" x="{LEFT - 6}" y="{TOP + 8}" text-anchor="end">+{scale.edge}</text>',
        f'<text class="tick" x="{LEFT - 6}" y="{zero + 4:.1f}" text-anchor="end">0</text>',
        f'<text class="tick" x="{LEFT - 6}" y="{TOP + scale.plot_h}" text-anchor="end">-{scale.edge}</text>',
    ]


def _interval_band(
    scale: _EventScale, slot: float, lows: Sequence[float | None], highs: Sequence[float | None]
) -> list[str]:
    """The shaded band through the periods that have an interval (none for fewer than two)."""
    banded = [
        (LEFT + slot * (i + 0.5), low, high)
        for i, (low, high) in enumerate(zip(lows, highs, strict=True))
        if low is not None and high is not None
    ]
    if len(banded) <= 1:
        return []
    outline = [f"{x:.1f},{scale.y_of(high):.1f}" for x, _, high in banded]
    outline += [f"{x:.1f},{scale.y_of(low):.1f}" for x, low, _ in reversed(banded)]
    return [f'<polygon class="band" points="{" ".join(outline)}"/>']


def _move_line(move_before: int | None, periods: int, slot: float, plot_h: float) -> list[str]:
    """The move as a dashed line before period ``move_before``; none when it falls outside the chart."""
    if move_before is None or not 0 < move_before < periods:
        return []
    x = LEFT + slot * move_before
    return [f'<line class="move" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + plot_h}"/>']


def _event_point(
    scale: _EventScale,
    x: float,
    label: str,
    estimate: float | None,
    low: float | None,
    high: float | None,
    unit: str,
) -> list[str]:
    """One period: its interval as a whisker, its estimate as a point whose tooltip gives both."""
    parts = []
    if low is not None and high is not None:
        parts.append(
            f'<line class="interval" x1="{x:.1f}" x2="{x:.1f}" y1="{scale.y_of(low):.1f}" y2="{scale.y_of(high):.1f}"/>'
        )
    if estimate is not None:
        band = "" if low is None or high is None else f" (90 % interval {scale.show(low)} to {scale.show(high)})"
        parts.append(
            f'<circle class="point" cx="{x:.1f}" cy="{scale.y_of(estimate):.1f}" r="5"><title>{escape(label)}: '
            f"{scale.show(estimate)}{escape(' ' + unit if unit else '')}{escape(band)}</title></circle>"
        )
    return parts


def _lines(grid: _Grid, labels: Sequence[str], series: Sequence[Series], unit: str) -> list[str]:
    parts = []
    for s in series:
        run: list[str] = []
        for i, label in enumerate(labels):
            value = s.values[i] if i < len(s.values) else None
            if value is None:
                if len(run) > 1:
                    parts.append(f'<polyline class="line {s.css}" points="{" ".join(run)}"/>')
                run = []
                continue
            x, y = LEFT + grid.slot * (i + 0.5), grid.y_of(value)
            run.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle class="{s.css}" cx="{x:.1f}" cy="{y:.1f}" r="4"><title>{escape(label)} · '
                f"{escape(s.name)}: {escape(_fmt(value, unit))}</title></circle>"
            )
        if len(run) > 1:
            parts.append(f'<polyline class="line {s.css}" points="{" ".join(run)}"/>')
    return parts + _end_labels(series, len(labels), grid.slot, grid.plot_h, grid.top)


def _end_labels(series: Sequence[Series], periods: int, slot: float, plot_h: float, top: float) -> list[str]:
    """Each line's last value, written beside its last point (nudged apart when two would overlap)."""
    ends = []
    for s in series:
        last = next((i for i in range(min(periods, len(s.values)) - 1, -1, -1) if s.values[i] is not None), None)
        if last is not None:
            value = float(s.values[last] or 0)
            ends.append((TOP + plot_h - plot_h * value / top, LEFT + slot * (last + 0.5) + 7, _short(value)))
    ends.sort()
    parts, floor = [], -math.inf
    for y, x, text in ends:
        y = max(y + 4, floor + 12)
        floor = y
        parts.append(_value(x, min(y, TOP + plot_h), text, anchor="start"))
    return parts


def _figure(
    title: str,
    chart_id: str,
    parts: list[str],
    labels: Sequence[str],
    series: Sequence[Series],
    unit: str,
    *,
    legend: bool = True,
    cell: Callable[[float | None], str] | None = None,
    axes: str = "",
    focusable: bool = True,
) -> Markup:
    """``focusable``: the plot takes the keyboard focus itself so that it can be scrolled; not when it holds
    links (they take the focus and scroll it into view; a focusable box around links would nest controls)."""
    safe_id = escape(chart_id)
    focus = ' tabindex="0"' if focusable else ""
    role = "img" if focusable else "group"  # an image's children are hidden from assistive tech: not its links

    def show(value: float | None) -> str:
        return cell(value) if cell is not None else _fmt(value, "")

    keys = "".join(
        f'<li><span class="key {escape(s.css)}" aria-hidden="true"></span>{escape(s.name)}</li>' for s in series
    )
    head = "".join(f"<th scope='col'>{escape(s.name)}</th>" for s in series)
    body = "".join(
        f"<tr><th scope='row'>{escape(label)}</th>"
        + "".join(f"<td>{escape(show(s.values[i] if i < len(s.values) else None))}</td>" for s in series)
        + "</tr>"
        for i, label in enumerate(labels)
    )
    return Markup(
        f'<figure class="chart" id="{safe_id}" data-chart="{escape(title)}">'
        f'<figcaption id="{safe_id}-title">{escape(title)}</figcaption>'
        + (f'<p class="axes">{escape(axes)}</p>' if axes else "")
        + (f'<ul class="legend">{keys}</ul>' if legend else "")
        + f'<div class="plot"{focus} role="group" aria-labelledby="{safe_id}-title">'
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="{role}" '
        f'aria-labelledby="{safe_id}-title" preserveAspectRatio="xMidYMid meet">{"".join(parts)}</svg></div>'
        f"<details><summary>The numbers ({escape(noun(2, unit) if unit else 'values')})</summary>"
        "<div class='scroll'><table class='data'>"
        f"<thead><tr><th scope='col'>Week</th>{head}</tr></thead><tbody>{body}</tbody></table></div></details>"
        "</figure>"
    )


def interval_bar(estimate: float | None, low: float | None, high: float | None, tone: str, label: str) -> str:
    """A relative effect's whole claim at a glance: the estimate as a dot on its 90 % interval, zero as a
    line; no text inside (the numbers sit beside it in HTML). ``label``: its text alternative."""
    if estimate is None or low is None or high is None:
        return ""
    width, height, cap = 240, 22, 3.0
    span = min(cap, max(0.5, abs(low), abs(high), abs(estimate)) * 1.1)

    def x(value: float) -> float:
        return width / 2 + max(-1.0, min(1.0, value / span)) * (width / 2 - 6)

    x0, x1, xe, mid = x(low), x(high), x(estimate), height / 2
    clipped = "".join(
        f'<path class="edge" d="M{at:.1f},{mid - 5} l{d * 5},5 l{-d * 5},5"/>'
        for at, d, beyond in ((x0, -1, low < -span), (x1, 1, high > span))
        if beyond
    )
    return (
        f'<svg class="interval-bar tone-{escape(tone)}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="none">'
        f'<line class="axis" x1="0" x2="{width}" y1="{mid}" y2="{mid}"/>'
        f'<line class="zero" x1="{width / 2}" x2="{width / 2}" y1="2" y2="{height - 2}"/>'
        f'<rect class="range" x="{x0:.1f}" y="{mid - 4}" width="{max(x1 - x0, 1.5):.1f}" height="8" rx="3"/>'
        f'<circle class="dot" cx="{xe:.1f}" cy="{mid}" r="5"/>{clipped}</svg>'
    )


CHART_STYLE = " ".join(
    [
        "figure.chart{margin:12px 0 20px} figure.chart figcaption{font-weight:600}",
        "figure.chart .plot{overflow-x:auto} figure.chart svg{width:720px;max-width:none;height:auto;display:block}",
        "figure.chart .axes{font-size:12.5px;color:#555c66;margin:2px 0}",
        "figure.chart .legend{display:flex;gap:16px;list-style:none;padding:0;margin:4px 0;font-size:13px}",
        "figure.chart .key{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:-1px}",
        "figure.chart details{font-size:13px} svg .grid{stroke:#d9dde3;stroke-width:1}",
        "svg .zero{stroke:#555c66;stroke-width:1.5;stroke-dasharray:4 3} svg .tick{fill:#555c66;font-size:11px}",
        "svg .value{fill:#1d1f23;font-size:11px;font-weight:600}",
        "svg .interval{stroke:#555c66;stroke-width:2} svg .point{fill:#1f5fbf} svg .band{fill:#1f5fbf;opacity:.15}",
        "svg .move{stroke:#a61b12;stroke-width:1.5;stroke-dasharray:5 3} svg polyline.line{fill:none;stroke-width:2}",
        ".s-migrated{fill:#2f6fd0;background:#2f6fd0} .s-legacy{fill:#8a93a3;background:#8a93a3}",
        "svg polyline.s-migrated{stroke:#2f6fd0} svg polyline.s-legacy{stroke:#8a93a3}",
        "@media (prefers-color-scheme:dark){figure.chart .axes{color:#a9b0bb} svg .grid{stroke:#343944}",
        "svg .zero,svg .interval{stroke:#a9b0bb} svg .tick{fill:#a9b0bb} svg .point,svg .band{fill:#8ab4ff}",
        "svg .value{fill:#e8eaee}",
        "svg .move{stroke:#ff8a80} .s-migrated{fill:#6ea2ff;background:#6ea2ff}",
        "svg polyline.s-migrated{stroke:#6ea2ff}",
        ".s-legacy{fill:#9aa3b2;background:#9aa3b2} svg polyline.s-legacy{stroke:#9aa3b2}}",
    ]
)
"""The charts' classes for a page without the app's stylesheet (the HTML digest and email): the app's colours."""
