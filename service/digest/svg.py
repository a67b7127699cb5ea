"""Hand-written SVG shared by the app and the digest (no text inside: numbers sit beside the drawing in
HTML, so they keep their size on a phone where an SVG is scaled down)."""

from __future__ import annotations

from html import escape

from service.digest.models import Tone

BAR_WIDTH, BAR_HEIGHT = 240, 22
SPAN_CAP = 3.0
"""The widest relative span drawn (±300 %); a bound beyond it is drawn at the edge with an arrow."""


def _x(value: float, span: float) -> float:
    return BAR_WIDTH / 2 + max(-1.0, min(1.0, value / span)) * (BAR_WIDTH / 2 - 6)


def interval_bar(estimate: float | None, low: float | None, high: float | None, tone: Tone, label: str) -> str:
    """The estimate as a dot on its 90 % interval, zero as a line: a relative effect's whole claim at a
    glance. ``label`` is its text alternative (the same figures in words)."""
    if estimate is None or low is None or high is None:
        return ""
    span = min(SPAN_CAP, max(0.5, abs(low), abs(high), abs(estimate)) * 1.1)
    x0, x1, xe, mid = _x(low, span), _x(high, span), _x(estimate, span), BAR_HEIGHT / 2
    clipped = "".join(
        f'<path class="edge" d="M{x:.1f},{mid - 5} l{d * 5},5 l{-d * 5},5"/>'
        for x, d, beyond in ((x0, -1, low < -span), (x1, 1, high > span))
        if beyond
    )
    return (
        f'<svg class="interval-bar tone-{tone}" viewBox="0 0 {BAR_WIDTH} {BAR_HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="none">'
        f'<line class="axis" x1="0" x2="{BAR_WIDTH}" y1="{mid}" y2="{mid}"/>'
        f'<line class="zero" x1="{BAR_WIDTH / 2}" x2="{BAR_WIDTH / 2}" y1="2" y2="{BAR_HEIGHT - 2}"/>'
        f'<rect class="range" x="{x0:.1f}" y="{mid - 4}" width="{max(x1 - x0, 1.5):.1f}" height="8" rx="3"/>'
        f'<circle class="dot" cx="{xe:.1f}" cy="{mid}" r="5"/>{clipped}</svg>'
    )
