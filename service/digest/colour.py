"""The one colour rule of every digest renderer (the app, the HTML page and email, Slack): a figure is
coloured against the baseline — what it was before the migration, or what the moved services would have
shown without the move — never against last month. Green: better; red: worse; grey: no clear change, or
not enough data to say. Each renderer maps the tone to its own medium here, so one metric has one colour."""

from __future__ import annotations

from service.core.vocab import Verdict, is_better
from service.digest.models import HeadlineRow, Tone

LEGEND = (
    "Colours compare with the baseline (before the migration, or what the moved services would have shown "
    "without the move): green better, red worse, grey no clear change or not enough data."
)
PALETTE = {"light": {"better": "#17692f", "worse": "#a61b12"}, "dark": {"better": "#6fd08c", "worse": "#ff8a80"}}
"""The two colours in each scheme: the app's stylesheet (``--good``/``--bad``) and the HTML digest's inline
style use these values, so a metric is the same colour on either (tests/test_scorecard_browser.py)."""
CSS: dict[Tone, str] = {"better": "better", "worse": "worse", "neutral": "neutral"}
"""The class of a tone in the app's stylesheet and the HTML digest's inline style."""
SLACK: dict[Tone, str] = {"better": "🟢", "worse": "🔴", "neutral": "⚪"}
"""The mark of a tone in Slack, which has no colour for text."""


def judged(better: bool | None) -> Tone:
    return "neutral" if better is None else ("better" if better else "worse")


def effect_tone(verdict: Verdict, relative: float | None, higher_is_better: bool | None) -> Tone:
    """An effect is coloured only when its interval supports a change."""
    if verdict != "changed" or relative is None or higher_is_better is None:
        return "neutral"
    return judged(is_better(relative, higher_is_better))


def headline_tone(row: HeadlineRow) -> Tone:
    """A headline row's week against the baseline before the migration; grey where there is none."""
    return judged(row.vs_baseline)


def headline_css(row: HeadlineRow) -> str:
    """The class of a headline row's week (the app's templates and the HTML digest)."""
    return CSS[headline_tone(row)]
