"""The digest's content (``service.digest.models.DigestContent``) as the parts the overview and the framed
digest page show. One renderer per part: the criteria and the effects table are the digest's own HTML
helpers (``service.digest.html``, the wording written once); the charts are the app's SVG charts (values
on hover and in a table, readable with JavaScript off); each claim carries the services behind it."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from service.app.web import charts
from service.core.vocab import COHORT_WORDS, MIGRATED, NOT_MIGRATED, metric
from service.digest import html as digest_html
from service.digest.models import BeforeAfter, DigestContent, MigrationPart, ScorecardTile
from service.digest.render import warning_line
from service.digest.scorecard_html import Links, scorecard_html
from service.digest.series import BAR_METRICS, LINE_METRICS

COHORTS = ((NOT_MIGRATED, "s-legacy"), (MIGRATED, "s-migrated"))
"""Each cohort's style; its words are ``service.core.vocab.COHORT_WORDS``."""
UNIT_NOUNS = {"deploys": "deploy", "incidents": "incident", "lead_time": "hour", "time_to_restore": "hour"}
"""The noun a chart's hover text counts in (a rate in % has none)."""


def cohort_charts(content: DigestContent) -> list[Markup]:
    """Deploys and incidents as stacked weekly bars; lead time, change failure rate and time to restore as
    one line per cohort, when the content carries them."""
    data = content.charts
    weeks = data.weeks
    out = []
    for key in BAR_METRICS:
        title, unit = metric(key).chart_label, UNIT_NOUNS.get(key, "")
        bars = data.bars(key)
        if bars:
            out.append(
                charts.stacked_bars(
                    f"{title}, migrated vs not yet migrated",
                    weeks,
                    [charts.Series(COHORT_WORDS[cohort], bars.get(cohort, []), css) for cohort, css in COHORTS],
                    unit=unit,
                    chart_id=f"cohort-{key}",
                )
            )
    for key in LINE_METRICS:
        title, unit = metric(key).chart_label, UNIT_NOUNS.get(key, "")
        series = data.lines(key)
        if any(v is not None for values in series.values() for v in values):
            out.append(
                charts.lines(
                    f"{title}, migrated vs not yet migrated",
                    weeks,
                    [charts.Series(COHORT_WORDS[cohort], series.get(cohort, []), css) for cohort, css in COHORTS],
                    unit=unit,
                    chart_id=f"cohort-{key}",
                )
            )
    return out


def event_study_charts(migration: MigrationPart | None) -> list[Markup]:
    """Per metric with an estimate: the effect by weeks since the move with its 90 % band."""
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
            )
        )
    return out


def _region(label: str, html: str) -> Markup:
    """A part that may be wider than a phone: it scrolls on its own and can be reached with the keyboard."""
    return Markup('<div class="scroll" tabindex="0" role="region" aria-label="{}">{}</div>').format(label, Markup(html))


@dataclass(frozen=True, slots=True)
class DigestParts:
    """What the digest partial (``templates/_digest.html``) lays out as ``d``."""

    verdict: list[str]
    warnings: list[str]
    criteria: Markup
    effects: Markup
    claims: list[BeforeAfter]
    event_study: list[Markup]
    cohort_charts: list[Markup]
    scorecard: Markup
    resources: Markup


def _evidence(tile: ScorecardTile) -> str:
    return tile.evidence


def scorecard(content: DigestContent, links: Links | None = None) -> Markup:
    """The scorecard and net line, as the HTML digest writes them (``service.digest.scorecard_html``)."""
    if content.scorecard is None:
        return Markup("")
    return Markup(scorecard_html(content.scorecard, evidence=_evidence, links=links))


def parts(content: DigestContent, links: Links | None = None) -> DigestParts:
    """Everything the digest partial (``templates/_digest.html``) lays out, from one content; ``links``:
    each tile's drill-down to the events behind it."""
    migration = content.migration
    items = [] if migration is None else migration.before_after
    return DigestParts(
        verdict=list(content.verdict),
        warnings=[warning_line(w) for w in content.warnings],
        criteria=_region("Success criteria", "".join(digest_html.criteria_parts(migration)))
        if migration
        else Markup(""),
        effects=_region("Effects", digest_html.effects_table(items)) if items else Markup(""),
        claims=items,
        event_study=event_study_charts(migration),
        cohort_charts=cohort_charts(content),
        scorecard=scorecard(content, links),
        resources=_region("Cost, productivity and incidents", "".join(digest_html.resource_parts(content))),
    )
