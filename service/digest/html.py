"""The digest as one self-contained HTML page: inline CSS and SVG charts (matplotlib), no JavaScript,
so it reads the same in a browser and as an email body."""

from __future__ import annotations

import io
from html import escape
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from service.digest.render import ARROWS, number

COLOURS = {"migrated": "#2f7ed8", "not_migrated": "#b0b7c3"}
LABELS = {"migrated": "migrated", "not_migrated": "not yet migrated"}


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "frictionlog"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _cohort_chart(title: str, weeks: list[str], series: dict[str, list[int]]) -> str:
    figure = Figure(figsize=(7.5, 2.6))
    axes = figure.subplots()
    bottom = [0] * len(weeks)
    for cohort in ("not_migrated", "migrated"):
        values = series[cohort]
        axes.bar(range(len(weeks)), values, bottom=bottom, color=COLOURS[cohort], label=LABELS[cohort], width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_xticks(range(len(weeks)), [w[-3:] for w in weeks], fontsize=7)
    axes.set_ylim(bottom=0, top=max(1, max(bottom) * 1.15))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title, fontsize=10, loc="left")
    axes.legend(fontsize=7, frameon=False, loc="upper left")
    axes.spines[["top", "right"]].set_visible(False)
    return f'<figure class="chart" data-chart="{escape(title)}">{_svg(figure)}</figure>'


def _friction_chart(by_category: dict[str, int]) -> str:
    if not by_category:
        return "<p class='muted'>No friction reported in the last four weeks.</p>"
    figure = Figure(figsize=(7.5, 0.4 + 0.32 * len(by_category)))
    axes = figure.subplots()
    names = list(by_category)[::-1]
    axes.barh(names, [by_category[n] for n in names], color="#e4572e")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title("Friction by category, last 4 weeks", fontsize=10, loc="left")
    axes.tick_params(labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    return f'<figure class="chart" data-chart="friction">{_svg(figure)}</figure>'


STYLE = " ".join(
    [
        "body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1d1f23;max-width:820px;",
        "margin:24px auto;padding:0 16px} h1{font-size:22px;margin-bottom:4px}",
        "h2{font-size:17px;margin-top:28px;border-bottom:1px solid #e3e6ea;padding-bottom:4px}",
        "table{border-collapse:collapse;width:100%;font-size:14px}",
        "th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eef0f2} th{color:#5b616b;font-weight:600}",
        ".better{color:#1a7f37} .worse{color:#b42318} .muted{color:#6b7280} .statement{margin:6px 0}",
        ".chart svg{max-width:100%;height:auto}",
        "blockquote{border-left:3px solid #d0d5dd;margin:8px 0;padding:2px 12px;color:#374151}",
    ]
)


def _headline_table(rows: list[dict[str, Any]]) -> str:
    body = []
    for row in rows:
        tone = "" if row["better"] is None else ("better" if row["better"] else "worse")
        note = " <span class='muted'>(thin data)</span>" if row["low_sample"] else ""
        arrow = ARROWS[row["direction"]] if row["this_week"] is not None else ""
        body.append(
            f"<tr><td>{escape(row['label'])}</td>"
            f"<td class='{tone}'>{escape(number(row['this_week'], row['unit']))} {arrow}{note}</td>"
            f"<td>{escape(number(row['four_week_average'], row['unit']))}</td>"
            f"<td>{escape(number(row['baseline'], row['unit']))}</td>"
            f"<td>{escape(row.get('band') or '–')}</td></tr>"
        )
    return (
        "<table><tr><th>Metric</th><th>This week</th><th>4-week average</th><th>Before the migration</th>"
        "<th>DORA band</th></tr>" + "".join(body) + "</table>"
    )


def render_html(content: dict[str, Any]) -> str:
    title = f"Frictionlog — week {content['week']}"
    parts = [f"<h1>{escape(title)}</h1>", f"<p>{escape(content['summary'])}</p>"]
    if content["empty"]:
        return _page(title, parts)
    parts += ["<h2>Headline</h2>", _headline_table(content["headline"])]
    migration = content.get("migration")
    charts = content["charts"]
    if migration:
        parts.append(f"<h2>The migration: {escape(migration['name'])}</h2>")
        parts.append(f"<p>{migration['services_migrated']} of {migration['services_total']} services moved.</p>")
        parts += [f"<p class='statement'>{escape(item['sentence'])}</p>" for item in migration["before_after"]]
        cohorts = migration["cohorts"]
        parts.append(
            "<table><tr><th>Over the last 4 weeks</th><th>Services</th><th>Deploys / week</th><th>Lead time</th>"
            "<th>Change failure rate</th><th>Incidents</th></tr>"
            + "".join(
                f"<tr><td>{LABELS[name]}</td><td>{c['services']}</td>"
                f"<td>{escape(number(c['deployment_frequency'], 'per week'))}</td>"
                f"<td>{escape(number(c['lead_time'], 'hours'))}</td>"
                f"<td>{escape(number(c['change_failure_rate'], '%'))}</td>"
                f"<td>{escape(number(c['incidents'], 'count'))}</td></tr>"
                for name, c in cohorts.items()
            )
            + "</table>"
        )
    parts.append(_cohort_chart("Deploys per week", charts["weeks"], charts["deploys"]))
    parts.append(_cohort_chart("Incidents per week", charts["weeks"], charts["incidents"]))
    friction = content["friction"]
    parts.append("<h2>Friction</h2>")
    parts.append(
        f"<p>{friction['new']} new reports ({friction['last_week']} the week before), "
        f"{friction['hours_lost']} hours lost.</p>"
    )
    if friction["top_categories"]:
        items = "".join(
            f"<li>{escape(c['title'])}: {c['reports']} (last week {c['last_week']})</li>"
            for c in friction["top_categories"]
        )
        parts.append(f"<ul>{items}</ul>")
    for theme in friction["rising_themes"]:
        where = f" on {escape(theme['service'])}" if theme["service"] else ""
        parts.append(f"<p class='statement'>Rising: {escape(theme['title'])}{where}, {theme['reports']} reports.</p>")
    parts += [f"<blockquote>“{escape(quote)}”</blockquote>" for quote in friction["quotes"]]
    if friction["you_said_we_did"]:
        parts.append("<h2>You said → we did</h2>")
        parts += [
            f"<p class='statement'>#{item['id']} “{escape(item['text'])}” → {escape(item['note'])}</p>"
            for item in friction["you_said_we_did"]
        ]
    parts.append(_friction_chart(charts["friction_by_category"]))
    parts.append(f"<p class='muted'>Definitions v{escape(content['definitions_version'])}: docs/metrics.md.</p>")
    return _page(title, parts)


def _page(title: str, parts: list[str]) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
        f"<body>{''.join(parts)}</body></html>"
    )
