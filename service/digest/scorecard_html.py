"""The scorecard as HTML, written once for the HTML digest (and email) and the app's overview: the tiles
with their verdict badge, estimate, drawn interval, caveat, criterion and evidence, the colour legend, and
the net line with every figure's interval and the assumptions behind it. Every text is escaped here.

Machines read the same figures from attributes: ``data-scorecard``, ``data-metric``, ``data-verdict``,
``data-tone`` and the relative ``data-estimate``/``data-low``/``data-high`` (fractions) on a tile; the net
line's ``data-net`` (per week, in ``data-currency``) with ``data-low``/``data-high``."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from service.core.vocab import CRITERION_STATUS_WORDS, VERDICT_WORDS
from service.digest import colour
from service.digest.charts import interval_bar
from service.digest.models import Estimate, NetComponent, NetLine, ScorecardPart, ScorecardTile
from service.digest.net import ranged
from service.effects.words import interval

Links = Callable[[ScorecardTile], list[tuple[str, str]]]
"""(href, text) links of a tile beyond its evidence: the app's drill-down to the events behind it."""


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:+.0%}"


def _attr(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _tile(tile: ScorecardTile, evidence: Callable[[ScorecardTile], str], links: Links | None) -> str:
    css = colour.CSS[tile.tone]
    figure = (
        f"<p class='tile-figure {css}'>{escape(_pct(tile.estimate))}</p>"
        f"<p class='tile-interval'>{escape(interval(tile.low, tile.high))}</p>"
        if tile.estimate is not None
        else "<p class='tile-figure neutral'>–</p>"
    )
    words = f"{tile.label}: {_pct(tile.estimate)}, {interval(tile.low, tile.high)}"
    bar = interval_bar(tile.estimate, tile.low, tile.high, tile.tone, words)
    caveat = f"<p class='caveat'>{escape(tile.sensitivity)}</p>" if tile.sensitivity else ""
    if tile.verdict == "no_clear_change" and tile.mde_relative is not None:
        caveat += f"<p class='caveat'>Could only detect a change of about ±{tile.mde_relative:.0%}.</p>"
    criterion = ""
    if tile.criterion_status is not None:
        status = CRITERION_STATUS_WORDS[tile.criterion_status]
        criterion = f"<p class='criterion'>{escape(tile.criterion_goal or '')}: <b>{escape(status)}</b></p>"
    others = "".join(
        f"<li><span class='{colour.CSS[m.tone]}'>{escape(m.label)} {escape(_pct(m.relative))}</span> "
        f"<span class='muted'>({escape(VERDICT_WORDS[m.verdict])})</span></li>"
        for m in tile.others
        if m.verdict != "not_enough_data"
    )
    more = [(evidence(tile), "Evidence"), *(links(tile) if links else [])]
    anchors = " · ".join(f"<a href='{escape(href)}'>{escape(text)}</a>" for href, text in more)
    return (
        f"<article class='tile tone-{tile.tone}' data-scorecard='{tile.key}' data-metric='{escape(tile.metric)}' "
        f"data-verdict='{tile.verdict}' data-tone='{tile.tone}' data-estimate='{_attr(tile.estimate)}' "
        f"data-low='{_attr(tile.low)}' data-high='{_attr(tile.high)}'>"
        f"<h3>{escape(tile.title)}</h3>"
        f"<p><span class='badge verdict-{tile.verdict}'>{escape(VERDICT_WORDS[tile.verdict])}</span> "
        f"<span class='tile-metric'>{escape(tile.label)}</span></p>"
        f"{figure}{bar}{caveat}{criterion}"
        + (f"<ul class='tile-others'>{others}</ul>" if others else "")
        + f"<p class='tile-links'>{anchors}</p></article>"
    )


def _figure_cell(figure: Estimate | None, show: str, currency: str) -> str:
    return escape(ranged(figure, show, currency))


def _component(c: NetComponent, currency: str) -> str:
    show = "money" if c.key == "cost" else "hours"
    quantity = _figure_cell(c.quantity, show, currency) if c.missing is None else f"not counted: {escape(c.missing)}"
    value = _figure_cell(c.value, "money", currency) if c.missing is None else "–"
    return (
        f"<tr data-net-part='{c.key}'><td data-label='Part'>{escape(c.label)}</td>"
        f"<td data-label='Per week'>{quantity}</td><td data-label='Value per week'>{value}</td>"
        f"<td data-label='How'>{escape(c.basis)}</td></tr>"
    )


def net_html(net: NetLine, edit: str = "") -> str:
    """The net line: its sentence, the parts with their intervals, and the assumptions (``edit``: the
    admins' form to change them, from the app)."""
    figure = net.net
    attrs = (
        f" data-net='{_attr(figure.estimate)}' data-low='{_attr(figure.low)}' data-high='{_attr(figure.high)}'"
        if figure is not None
        else " data-net=''"
    )
    rows = "".join(_component(c, net.currency) for c in net.components)
    platforms = ""
    if net.platforms:
        each = " · ".join(
            f"{escape(p.platform)} {'–' if p.this_week is None else f'{p.this_week:,.0f}'} {escape(net.currency)}"
            for p in net.platforms
        )
        hybrid = " (both platforms paid: the hybrid period)" if net.hybrid else ""
        platforms = f"<p class='note'>Cost this week by platform{hybrid}: {each}.</p>"
    assumptions = "".join(
        f"<li>{escape(a.label)}: <b>{a.value:,.4g}</b> {escape(a.unit)}</li>" for a in net.assumptions
    )
    return (
        f"<div class='net-line' id='net-line' data-currency='{escape(net.currency)}'{attrs}>"
        f"<p class='net-sentence'><b>{escape(net.sentence)}</b></p>"
        "<div class='scroll' tabindex='0' role='region' aria-label='The net line, part by part'>"
        "<table class='wide net-table'><thead><tr><th scope='col'>Part</th><th scope='col'>Per week</th>"
        f"<th scope='col'>Value per week</th><th scope='col'>How</th></tr></thead><tbody>{rows}</tbody></table></div>"
        f"{platforms}<p class='note'>Assumptions (admins can change them):</p><ul class='assumptions'>{assumptions}"
        f"</ul>{edit}<p class='note'>Every figure is the migration's effect with its 90 % interval; the sums' "
        "intervals are approximate (each side's half-widths combined as if independent). No single ROI number: "
        "read the cost and the time side by side.</p></div>"
    )


def scorecard_html(
    part: ScorecardPart,
    *,
    evidence: Callable[[ScorecardTile], str],
    links: Links | None = None,
    edit: str = "",
) -> str:
    tiles = "".join(_tile(t, evidence, links) for t in part.tiles)
    net = net_html(part.net, edit) if part.net is not None else ""
    return (
        f"<div class='scorecard'>{tiles}</div><p class='legend note'>"
        "<span class='swatch better'>●</span> better · <span class='swatch worse'>●</span> worse · "
        f"<span class='swatch neutral'>●</span> no clear change — {escape(part.legend)}</p>{net}"
    )
