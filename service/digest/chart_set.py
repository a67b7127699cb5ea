"""Which charts a digest draws, for the app's pages and the HTML digest alike (``service.digest.charts``
draws them): deploys and incidents as stacked weekly bars per cohort, lead time, change failure rate and
time to restore as lines per cohort, and per metric the event study of the move's effect with its band."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial

from markupsafe import Markup

from service.core.vocab import COHORT_WORDS, MIGRATED, NOT_MIGRATED, metric
from service.digest import charts
from service.digest.models import DigestContent, MigrationPart
from service.digest.series import BAR_METRICS, LINE_METRICS

COHORTS = ((NOT_MIGRATED, "s-legacy"), (MIGRATED, "s-migrated"))
"""Each cohort's style; its words are ``service.core.vocab.COHORT_WORDS``."""
UNIT_NOUNS = {"deploys": "deploy", "incidents": "incident", "lead_time": "hour", "time_to_restore": "hour"}
"""The noun a chart's hover text counts in (a rate in % has none)."""
WEEKS_AXIS = "horizontal: ISO week (last two digits)"


def _axes(key: str) -> str:
    unit = metric(key).unit
    shown = {"per week": "per week", "count": "a week", "%": "%", "hours": "hours"}.get(unit, unit)
    return f"Vertical: {metric(key).chart_label.lower()} ({shown}); {WEEKS_AXIS}."


def cohort_charts(content: DigestContent, bar_href: Callable[[str, str], str] | None = None) -> list[Markup]:
    """Deploys and incidents as stacked weekly bars; lead time, change failure rate and time to restore as
    one line per cohort, when the content carries them. ``bar_href(metric, week)``: where a week's bar
    links (the events behind it), or no links."""
    data = content.charts
    weeks = data.weeks
    out = []
    for key in (*BAR_METRICS, *LINE_METRICS):
        title, unit = metric(key).chart_label, UNIT_NOUNS.get(key, "")
        bars = key in BAR_METRICS
        values: Mapping[str, Sequence[float | None]] = data.bars(key) if bars else data.lines(key)
        if not (values if bars else any(v is not None for series in values.values() for v in series)):
            continue
        out.append(
            charts.weekly(
                f"{title}, migrated vs not yet migrated",
                weeks,
                [charts.Series(COHORT_WORDS[cohort], values.get(cohort, []), css) for cohort, css in COHORTS],
                unit=unit,
                chart_id=f"cohort-{key}",
                style="bars" if bars else "lines",
                axes=_axes(key),
                href=None if bar_href is None or not bars else partial(bar_href, key),
            )
        )
    return out


def event_study_charts(migration: MigrationPart | None) -> list[Markup]:
    """Per metric with an estimate: the effect by weeks since the move with its 90 % band, the move drawn."""
    out = []
    for item in [] if migration is None else migration.before_after:
        points = [p for p in item.event_study if p.relative is not None]
        if item.verdict == "not_enough_data" or not points:
            continue
        out.append(
            charts.points_with_intervals(
                f"Event study: {item.label}, effect by weeks since the move",
                [f"{p.week:+d}" for p in points],
                [p.relative for p in points],
                [p.low for p in points],
                [p.high for p in points],
                unit="",
                chart_id=f"event-study-{item.metric}",
                percent=True,
                move_before=next((i for i, p in enumerate(points) if p.week >= 0), None),
                axes=(
                    "Vertical: effect in % against no move (90 % interval shaded); horizontal: weeks since the "
                    "move (dashed line: the move)."
                ),
            )
        )
    return out
