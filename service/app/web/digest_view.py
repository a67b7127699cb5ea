"""The digest's content (``service.digest.models.DigestContent``) as the parts the overview and the framed
digest page show. One renderer per part: the criteria and the effects table are the digest's own HTML
helpers (``service.digest.html``, the wording written once); the charts are the one chart module's
(``service.digest.charts``, the HTML digest's too: values on hover and in a table, readable with JavaScript
off); each claim carries the services behind it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from markupsafe import Markup

from service.digest import html as digest_html
from service.digest.chart_set import cohort_charts, event_study_charts
from service.digest.models import BeforeAfter, DigestContent, ScorecardTile
from service.digest.render import warning_line
from service.digest.scorecard_html import Links, scorecard_html


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
    claim_links: Mapping[str, str] = field(default_factory=dict)
    """Each claim's metric → the events behind it, for the range and filters shown."""
    service: str = ""
    """The one service the claims' tables are narrowed to, or all."""


def _evidence(tile: ScorecardTile) -> str:
    return tile.evidence


def scorecard(content: DigestContent, links: Links | None = None) -> Markup:
    """The scorecard and net line, as the HTML digest writes them (``service.digest.scorecard_html``)."""
    if content.scorecard is None:
        return Markup("")
    return Markup(scorecard_html(content.scorecard, evidence=_evidence, links=links))


def parts(
    content: DigestContent,
    links: Links | None = None,
    *,
    claim_links: Mapping[str, str] | None = None,
    bar_href: Callable[[str, str], str] | None = None,
    service: str = "",
) -> DigestParts:
    """Everything the digest partial (``templates/_digest.html``) lays out, from one content; ``links``:
    each tile's drill-down to the events behind it; ``claim_links`` and ``bar_href(metric, week)``: each
    claim's and each chart bar's; ``service``: narrow the claims' per-service tables to it."""
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
        cohort_charts=cohort_charts(content, bar_href),
        scorecard=scorecard(content, links),
        resources=_region("Cost, productivity and incidents", "".join(digest_html.resource_parts(content))),
        claim_links=dict(claim_links or {}),
        service=service,
    )
