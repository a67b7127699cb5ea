"""Chart values read without hover: each bar's total, each event-study estimate and each line's last value
are written on the chart as 11 px ``value`` labels (every n-th where they would overlap, the newest always),
styled for light and dark in the app's stylesheet and the HTML digest's."""

from __future__ import annotations

import re
from pathlib import Path

from service.digest.charts import (
    CHART_STYLE,
    LEFT,
    RIGHT,
    WIDTH,
    Series,
    label_every,
    points_with_intervals,
    weekly,
)


def _values(svg: str) -> list[str]:
    return re.findall(r'<text class="value"[^>]*>([^<]*)</text>', svg)


def test_bars_carry_their_totals_and_a_study_its_estimates() -> None:
    bars = str(
        weekly(
            "Deploys",
            ["2026-W40", "2026-W41", "2026-W42"],
            [Series("legacy", [3, 0, 2.5], "s-legacy"), Series("new", [1, 12, 0], "s-migrated")],
            unit="deploy",
            chart_id="c1",
        )
    )
    assert _values(bars) == ["4", "12", "2.5"]
    study = str(
        points_with_intervals(
            "Study",
            ["-1", "+0", "+1"],
            [0.1, -0.5, None],
            [None, -0.9, None],
            [None, -0.1, None],
            unit="",
            chart_id="c2",
            percent=True,
        )
    )
    assert _values(study) == ["+10%", "-50%"]


def test_a_line_shows_its_last_value_and_labels_never_crowd() -> None:
    chart = str(
        weekly(
            "Lead time",
            ["W1", "W2", "W3"],
            [Series("legacy", [10.0, 12.0, None], "s-legacy"), Series("new", [8.0, 7.0, 6.0], "s-migrated")],
            unit="hour",
            chart_id="c3",
            style="lines",
        )
    )
    assert sorted(_values(chart)) == ["12", "6"]  # each series' last value, the gap skipped
    weeks = [f"W{i}" for i in range(52)]
    crowded = str(weekly("Year", weeks, [Series("n", [1234.0] * 52, "s-legacy")], unit="", chart_id="c4"))
    shown = _values(crowded)
    every = label_every(52, (WIDTH - LEFT - RIGHT) / 52, len("1,234"))
    assert every > 1
    assert len(shown) == len(range(51, -1, -every))
    xs = [float(x) for x in re.findall(r'<text class="value" x="([\d.]+)"', crowded)]
    assert min(b - a for a, b in zip(xs, xs[1:], strict=False)) >= len("1,234") * 6.5


def test_value_labels_are_11_px_in_light_and_dark() -> None:
    app_css = (Path(__file__).parent.parent / "service/app/web/static/app.css").read_text()
    assert re.search(r"svg \.value \{[^}]*font-size: 11px", app_css)
    assert "svg .value{fill:#1d1f23;font-size:11px" in CHART_STYLE
    dark = CHART_STYLE[CHART_STYLE.index("prefers-color-scheme:dark") :]
    assert "svg .value{fill:#e8eaee}" in dark
