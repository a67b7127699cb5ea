"""The digest as one self-contained HTML page: inline CSS and SVG charts (``service.digest.charts``, the app's
own), no
JavaScript, so it reads the same in a browser and as an email body. Every text is escaped here."""

from __future__ import annotations

import re
from datetime import date
from html import escape

from service.core.vocab import (
    COHORT_WORDS,
    DIVERGING,
    FLAT_CHANGE,
    PRE_TREND_WORDS,
    SCALE_WORDS,
    SENSITIVITY_UNSEEN_SHORT,
    is_better,
    metric,
)
from service.core.words import plural
from service.digest.chart_set import cohort_charts, event_study_charts
from service.digest.charts import CHART_STYLE
from service.digest.colour import headline_css
from service.digest.content import HEADLINE
from service.digest.models import (
    BeforeAfter,
    CostPart,
    CriterionResult,
    DigestContent,
    FrictionPart,
    HeadlineRow,
    MigrationPart,
    ServiceChange,
)
from service.digest.render import (
    ARROWS,
    COST_ROWS,
    cost_value,
    incidents_line,
    money,
    number,
    productivity_line,
    tone,
    warning_line,
)
from service.digest.scorecard_html import scorecard_html

STATUS_TONE = {"met": "better", "on_track": "", "off_track": "worse", "not_met": "worse", "not_enough_data": "muted"}
STATUS_WORD = {
    "met": "met",
    "on_track": "on track",
    "off_track": "off track",
    "not_met": "not met",
    "not_enough_data": "not enough data",
}
METHOD_WORD = {"staggered_did": "staggered DiD", "before_after": "before/after only", "none": "–"}

SCORECARD_STYLE = " ".join(
    [
        ":root{color-scheme:light dark} .neutral{color:#555c66}",
        ".scorecard{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:12px;margin:12px 0}",
        ".tile{border:1px solid #d9dde3;border-left-width:6px;border-radius:8px;padding:8px 12px}",
        ".tile h3{margin:4px 0} .tile p{margin:4px 0;font-size:14px} .tile-figure{font-size:22px!important;",
        "font-weight:700} .tile-others{font-size:13px;padding-left:18px;margin:4px 0} .caveat{font-style:italic}",
        ".tone-better{border-left-color:#17692f} .tone-worse{border-left-color:#a61b12}",
        ".tone-neutral{border-left-color:#8a93a3} .badge{border:1px solid currentColor;border-radius:10px;",
        "padding:0 8px;font-size:12px} .interval-bar{width:100%;height:22px;display:block}",
        ".interval-bar .axis{stroke:#d9dde3;stroke-width:2} .interval-bar .zero{stroke:#555c66;stroke-width:2}",
        ".interval-bar .range{fill:#8a93a3;opacity:.45} .interval-bar .dot{fill:#555c66}",
        ".interval-bar.tone-better .dot,.interval-bar.tone-better .range{fill:#17692f}",
        ".interval-bar.tone-worse .dot,.interval-bar.tone-worse .range{fill:#a61b12}",
        ".interval-bar .edge{fill:none;stroke:#555c66;stroke-width:2}",
        ".net-line{border:1px solid #d9dde3;border-radius:8px;padding:8px 14px;margin:12px 0}",
        ".scroll{overflow-x:auto}",
        "@media (max-width:600px){table.wide thead{display:none} table.wide tr{display:block;",
        "border-bottom:1px solid #d9dde3;padding:6px 0} table.wide td{display:block;border:0;padding:2px 0}",
        "table.wide td[data-label]::before{content:attr(data-label) ': ';color:#555c66}}",
        "@media (prefers-color-scheme:dark){body{background:#15171b;color:#e8eaee} a{color:#8ab4ff}",
        ".better,.tone-better .dot{color:#6fd08c} .worse{color:#ff8a80} .neutral,.muted,.note,th{color:#a9b0bb}",
        ".tone-better{border-left-color:#6fd08c} .tone-worse{border-left-color:#ff8a80}",
        ".interval-bar.tone-better .dot,.interval-bar.tone-better .range{fill:#6fd08c}",
        ".interval-bar.tone-worse .dot,.interval-bar.tone-worse .range{fill:#ff8a80}",
        ".interval-bar .zero,.interval-bar .dot{stroke:#a9b0bb;fill:#a9b0bb}",
        ".verdict,.warn,.moved{background:#1e2128} blockquote{color:#d0d5dd}",
        "}",
    ]
)
"""The scorecard's style, and the page's own dark scheme (its charts keep a light plate of their own)."""

STYLE = " ".join(
    [
        "body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1d1f23;max-width:860px;",
        "margin:24px auto;padding:0 16px} h1{font-size:22px;margin-bottom:4px}",
        "h2{font-size:17px;margin-top:28px;border-bottom:1px solid #e3e6ea;padding-bottom:4px}",
        "h3{font-size:14px;margin:18px 0 6px}",
        "table{border-collapse:collapse;width:100%;font-size:13.5px}",
        "th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eef0f2} th{color:#5b616b;font-weight:600}",
        ".better{color:#17692f} .worse{color:#a61b12} .muted{color:#6b7280} .statement{margin:6px 0;font-size:14.5px}",
        ".verdict{background:#f3f6fb;border-left:4px solid #2f7ed8;padding:8px 14px;margin:14px 0}",
        ".verdict p{margin:6px 0;font-size:15px}",
        ".warn{background:#fff8e6;border-left:4px solid #d29922;padding:6px 14px;margin:10px 0;font-size:13.5px}",
        ".moved{background:#fdf0ef;border-left:4px solid #b42318;padding:6px 14px;margin:10px 0;font-size:13.5px}",
        ".note{font-size:12.5px;color:#6b7280;margin:4px 0}",
        "blockquote{border-left:3px solid #d0d5dd;margin:6px 0 6px 14px;padding:2px 12px;color:#374151}",
        SCORECARD_STYLE,
        CHART_STYLE,
    ]
)


def _mark(better: bool | None) -> str:
    return "" if better is None else (" ✓" if better else " ✗")


def _headline_table(rows: list[HeadlineRow], partial: bool) -> str:
    body = []
    for row in rows:
        four, base = row.vs_four_weeks, row.vs_baseline
        note = " <span class='muted'>(thin data)</span>" if row.low_sample else ""
        arrow = ARROWS[row.direction] if row.this_week is not None else ""
        body.append(
            f"<tr><td>{escape(row.label)}</td>"
            f"<td class='{headline_css(row)}'>{escape(number(row.this_week, row.unit))} {arrow}{note}</td>"
            f"<td class='{tone(four)}'>{escape(number(row.four_week_average, row.unit))}{_mark(four)}</td>"
            f"<td class='{tone(base)}'>{escape(number(row.baseline, row.unit))}{_mark(base)}</td>"
            f"<td>{escape(row.band or '–')}</td></tr>"
        )
    judges = "before the migration (grey where there is no baseline yet)"
    week = "Week so far" if partial else "This week"
    return (
        f"<table><tr><th>Metric</th><th>{week}</th><th>4-week average</th><th>Before the migration</th>"
        "<th>DORA band</th></tr>" + "".join(body) + "</table>"
        f"<p class='note'>The colour of “{week.lower()}” compares it with {judges}; ✓/✗ beside each "
        "comparison says whether this week is better or worse than it.</p>"
    )


def criteria_parts(migration: MigrationPart) -> list[str]:
    items = migration.criteria
    parts: list[str] = []
    if items:
        rows = "".join(
            f"<tr><td>{escape(c.goal or c.label)}</td>"
            f"<td class='{STATUS_TONE[c.status]}'><b>{STATUS_WORD[c.status]}</b></td>"
            f"<td>{escape(_estimate(c))}</td><td>{escape(_day(c.deadline))}</td></tr>"
            for c in items
        )
        parts += [
            "<h3>Success criteria</h3>",
            "<table><tr><th>Criterion</th><th>Status</th><th>Estimate and 90 % interval</th><th>Due</th></tr>"
            + rows
            + "</table><p class='note'>Met: the whole interval is on the right side of the target. On track: the "
            "estimate is, the interval not yet. Judged against what the moved services would have shown "
            "without the move.</p>",
        ]
    changes = migration.criteria_changes
    if changes:
        lines = "".join(f"<p class='statement'>{escape(c.sentence)}</p>" for c in changes)
        parts.append(f"<div class='moved'><b>Changed after the migration started:</b>{lines}</div>")
    return parts


def _day(moment: date | None) -> str:
    """The day of a deadline or a move, as stored ("2026-03-31"), or a dash."""
    return "–" if moment is None else moment.isoformat()[:10]


def _estimate(criterion: CriterionResult) -> str:
    if criterion.status == "not_enough_data" or criterion.estimate is None or criterion.low is None:
        return "–"
    if criterion.kind == "relative":
        return f"{_pct(criterion.estimate)} ({_pct(criterion.low)} to {_pct(criterion.high)})"
    return f"{criterion.estimate:.1f} ({criterion.low:.1f} to {criterion.high:.1f})"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:+.0%}"


def _holds(item: BeforeAfter) -> str:
    """The sensitivity caveat, short: up to which bend of the trend after the move the claim holds."""
    if item.verdict != "changed" or item.caveat is None or item.breakdown is None:
        return ""
    if item.breakdown == 0:
        return f"; {SENSITIVITY_UNSEEN_SHORT}"
    return f"; holds to a {item.breakdown:.1f}× bend" if item.breakdown < 100 else "; holds (drift ran against it)"


def effects_table(items: list[BeforeAfter]) -> str:
    rows = []
    for item in items:
        if item.verdict == "not_enough_data":
            why = f"no claim: {DIVERGING}" if item.reason == "pre_trend_diverging" else "–"
            rows.append(
                f"<tr><td>{escape(item.label)}</td><td class='muted' colspan='6'>not enough data — "
                f"{escape(why if why != '–' else 'see above')}</td></tr>"
            )
            continue
        pre = "not_tested" if item.pre_trend is None else item.pre_trend.status
        interval = "–" if item.low is None else f"{_pct(item.low)} to {_pct(item.high)}"
        css = ""
        if item.verdict == "changed" and item.relative is not None:
            css = tone(is_better(item.relative, bool(item.higher_is_better)))
        mde = item.mde_relative
        rows.append(
            f"<tr><td>{escape(item.label)}</td><td class='{css}'>{_pct(item.relative)}</td>"
            f"<td>{interval}</td><td>{METHOD_WORD.get(item.method, '–')}, {SCALE_WORDS[item.scale]}</td>"
            f"<td>{item.services} / {item.controls}</td><td>{PRE_TREND_WORDS.get(pre, pre)}{_holds(item)}</td>"
            f"<td>{'–' if mde is None else f'±{mde:.0%}'}</td></tr>"
        )
    return (
        "<table><tr><th>Metric</th><th>Effect</th><th>90 % interval</th><th>Method</th>"
        "<th>Moved / compared</th><th>Pre-trend</th><th>Detectable</th></tr>" + "".join(rows) + "</table>"
        "<p class='note'>Effect: against what the moved services would have shown without the move, estimated "
        "from services not yet moved (staggered difference-in-differences). Detectable: the smallest effect "
        "these data would show 80 % of the time — “no clear change” is not “no change”. docs/metrics.md.</p>"
    )


def _per_service_table(items: list[BeforeAfter]) -> str:
    shown = [i for i in items if i.metric in ("deploys", "lead_time") and i.per_service]
    if not shown:
        return ""
    moved: dict[str, date | None] = {}  # each service's move, as the first metric that shows it states it
    cells: dict[str, dict[str, ServiceChange]] = {}
    for item in shown:
        for row in item.per_service:
            moved.setdefault(row.service, row.moved_on)
            cells.setdefault(row.service, {})[item.metric] = row
    head = "".join(f"<th>{escape(i.label)}: before → after</th><th>change</th>" for i in shown)
    body = []
    for service, changes in sorted(cells.items()):
        tds = ""
        for item in shown:
            change = changes.get(item.metric)
            if change is None:
                tds += "<td>–</td><td>–</td>"
                continue
            tds += (
                f"<td>{escape(number(change.before, item.unit))} → {escape(number(change.after, item.unit))}</td>"
                f"<td>{_pct(change.relative)}</td>"
            )
        body.append(f"<tr><td>{escape(service)}</td><td>{escape(_day(moved[service]))}</td>{tds}</tr>")
    return (
        "<h3>Each moved service against itself</h3>"
        f"<table><tr><th>Service</th><th>Moved (first whole week)</th>{head}</tr>" + "".join(body) + "</table>"
        "<p class='note'>Before: up to 8 weeks before the move; after: the complete weeks since. These include "
        "whatever else changed over the same weeks; the effect above takes that out.</p>"
    )


def _migration(migration: MigrationPart) -> list[str]:
    parts = [f"<h2>The migration: {escape(migration.name)}</h2>"]
    progress = migration.schedule or (
        f"{migration.services_migrated} of {plural(migration.services_total, 'service')} moved."
    )
    parts.append(f"<p>{escape(progress)}</p>")
    parts += criteria_parts(migration)
    items = migration.before_after
    parts.append("<h3 id='effects'>What the move changed</h3>")
    parts += [f"<p class='statement'>{escape(item.sentence)}</p>" for item in items]
    parts.append(effects_table(items))
    parts.append("<h3>When it changed: effect by weeks since the move</h3>")
    studies = event_study_charts(migration)
    parts.append(
        "".join(studies)
        if studies
        else "<p class='muted'>No event study yet: too few services moved with data on both sides.</p>"
    )
    parts.append(
        "<p class='note'>Left of the dashed line the moved and not-yet-moved services should run level (the "
        "check of parallel trends); right of it, the effect and whether it lasts. Bands: 90 % intervals.</p>"
    )
    parts.append(_per_service_table(items))
    cohorts = migration.cohorts
    header = "".join(f"<th>{escape(metric(key).chart_label)}</th>" for key in HEADLINE)
    parts.append(
        f"<h3>Cohorts over {escape(migration.cohorts_over)}</h3>"
        f"<table><tr><th>Cohort</th><th>Services</th>{header}</tr>"
        + "".join(
            f"<tr><td>{COHORT_WORDS[name]}</td><td>{c.services}</td>"
            + "".join(f"<td>{escape(number(c.figure(key), metric(key).unit))}</td>" for key in HEADLINE)
            + "</tr>"
            for name, c in cohorts.items()
        )
        + "</table>"
    )
    return parts


def _cost(cost: CostPart, partial: bool) -> list[str]:
    currency = cost.currency
    rows = []
    for row in COST_ROWS:
        now, then = row.value(cost.this_week), row.value(cost.four_week_average)
        if now is None and then is None:
            continue  # no GPU cost lines, say: no empty row
        css = ""
        if now is not None and then is not None and then != 0 and abs(now / then - 1) > FLAT_CHANGE:
            css = tone((now < then) == row.lower_is_better)
        rows.append(
            f"<tr><td>{escape(row.label)}</td><td class='{css}'>{escape(cost_value(now, row.shown, currency))}</td>"
            f"<td>{escape(cost_value(then, row.shown, currency))}</td></tr>"
        )
    week = "Week so far" if partial else "This week"
    parts = [
        "<h2>Cost and utilisation</h2>",
        f"<table><tr><th>Figure</th><th>{week}</th><th>4-week average</th></tr>" + "".join(rows) + "</table>",
    ]
    platforms = cost.by_platform
    if platforms:
        body = "".join(
            f"<tr><td>{escape(p.platform)}</td><td>{escape(money(p.this_week, currency))}</td>"
            f"<td>{escape(money(p.four_week_average, currency))}</td></tr>"
            for p in platforms
        )
        parts.append(
            "<h3>Cost per platform</h3>"
            f"<table><tr><th>Platform</th><th>{week}</th><th>4-week average</th></tr>{body}</table>"
        )
    if cost.sentence:
        parts.append(f"<p class='statement'><b>{escape(cost.sentence)}</b></p>")
    parts.append(
        "<p class='note'>The week's figures, not the migration's effect: the effect on compute cost, GPU "
        "utilisation and cold-start p95 is in the migration section. Colour: against the 4-week average.</p>"
    )
    return parts


def resource_parts(content: DigestContent) -> list[str]:
    """Cost and utilisation, engineering productivity and incident categories (the app shows them too)."""
    parts: list[str] = []
    if content.cost:
        parts += _cost(content.cost, content.partial)
    if content.productivity:
        line = productivity_line(content.productivity).removeprefix("Engineering productivity: ")
        parts += [
            "<h2>Engineering productivity</h2>",
            f"<p class='statement'>{escape(line[:1].upper() + line[1:])}</p>",
        ]
    if content.incident_categories:
        line = incidents_line(content.incident_categories).removeprefix("Infrastructure-related incidents: ")
        parts += [
            "<h2>Infrastructure-related incidents</h2>",
            f"<p class='statement'>{escape(line[:1].upper() + line[1:])}</p>",
        ]
    return parts


def _friction(friction: FrictionPart) -> list[str]:
    parts = [
        "<h2>Friction</h2>",
        f"<p>{friction.new} new reports ({friction.last_week} the week before), {friction.hours_lost} hours lost.</p>",
    ]
    if friction.top_categories:
        items = "".join(
            f"<li>{escape(c.title)}: {c.reports} (last week {c.last_week})</li>" for c in friction.top_categories
        )
        parts.append(f"<ul>{items}</ul>")
    for theme in friction.rising_themes:
        where = f" on {escape(theme.service)}" if theme.service else ""
        parts.append(
            f"<p class='statement'>Rising: {escape(theme.title)}{where}, {theme.reports} reports — "
            f"for example:</p><blockquote>“{escape(theme.example)}”</blockquote>"
        )
    if friction.quotes:
        parts.append("<h3>In engineers’ words this week</h3>")
        parts += [f"<blockquote>“{escape(quote)}”</blockquote>" for quote in friction.quotes]
    if friction.you_said_we_did:
        parts.append("<h2>You said → we did</h2>")
        parts += [
            f"<p class='statement'>#{item.id} “{escape(item.text)}” → {escape(item.note)}</p>"
            for item in friction.you_said_we_did
        ]
    return parts


def _friction_categories(by_category: dict[str, int]) -> str:
    if not by_category:
        return "<p class='muted'>No friction reported in the last four weeks.</p>"
    rows = "".join(f"<tr><td>{escape(name)}</td><td>{count}</td></tr>" for name, count in by_category.items())
    return f"<h3>Friction by category, last 4 weeks</h3><table><tr><th>Category</th><th>Reports</th></tr>{rows}</table>"


def render_html(content: DigestContent) -> str:
    week = content.week_label or content.week
    title = f"Frictionlog — week {week}"
    parts = [f"<h1>{escape(title)}</h1>", f"<p>{escape(content.summary)}</p>"]
    if content.short:
        return _page(title, parts)
    if content.verdict:
        parts.append("<div class='verdict'>" + "".join(f"<p>{escape(s)}</p>" for s in content.verdict) + "</div>")
    if content.warnings:
        items = "".join(f"<li>{escape(warning_line(w))}</li>" for w in content.warnings)
        parts.append(f"<div class='warn'><b>Data quality this week</b><ul>{items}</ul></div>")
    if content.scorecard is not None:
        parts += [
            "<h2>Scorecard: did the move pay off?</h2>",
            scorecard_html(content.scorecard, evidence=lambda _tile: "#effects"),
        ]
    parts += ["<h2>Headline</h2>", _headline_table(content.headline, content.partial)]
    parts += resource_parts(content)
    if content.migration:
        parts += _migration(content.migration)
    parts.append("<h2>Week by week</h2>")
    parts += cohort_charts(content)
    parts += _friction(content.friction)
    parts.append(_friction_categories(content.charts.friction_by_category))
    parts.append(f"<p class='muted'>Definitions v{escape(content.definitions_version)}: docs/metrics.md.</p>")
    return _page(title, parts)


TABLE = re.compile(r"<table>(.*?)</table>", re.DOTALL)


def _scrolling(body: str) -> str:
    """Every plain table in a region that scrolls on its own (reachable by keyboard), so a phone never
    scrolls the page sideways."""
    return TABLE.sub(
        r"<div class='scroll' tabindex='0' role='region' aria-label='Table (scrolls sideways on a narrow screen)'>"
        r"<table>\1</table></div>",
        body,
    )


def _page(title: str, parts: list[str]) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
        f"<body>{_scrolling(''.join(parts))}</body></html>"
    )
