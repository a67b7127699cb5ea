"""The weekly digest as Block Kit: ≤ 50 blocks, ≤ 3000 characters a text, with a plain-text fallback.

Every string taken from the content (service and migration names, theme titles, quotes, notes, and the
sentences built from them) is escaped through ``integrations.slack.mrkdwn``; service names are shown in
code spans with their backticks removed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote as urlquote

from integrations.slack import mrkdwn as md
from integrations.slack.blocks import context, mrkdwn, plain, safe
from integrations.slack.mrkdwn import Mrkdwn, code, fmt, link, quote
from service.core.settings import Settings
from service.core.vocab import COHORT_WORDS, CRITERION_STATUS_WORDS, VERDICT_WORDS
from service.core.words import plural
from service.digest import colour
from service.digest.models import DigestContent, FrictionPart, MigrationPart, RisingTheme, ScorecardPart, ScorecardTile
from service.digest.render import (
    cost_lines,
    headline_line,
    incidents_line,
    migration_lines,
    plain_text,
    productivity_line,
    warning_line,
)
from service.effects.words import interval

MAX_BLOCKS = 50
DEFAULT_PUBLIC_URL: str = Settings.model_fields["public_url"].default


def digest_link(content: DigestContent, public_url: str) -> str:
    """The digest's page in the web app, absolute (``FRICTIONLOG_PUBLIC_URL``). No token in it: a reader
    without a session signs in first and lands on this page."""
    query = "" if content.audience == "leaders" else "?audience=" + urlquote(content.audience, safe="")
    return f"{public_url.rstrip('/')}/digests/{content.week}{query}"


def digest_blocks(content: DigestContent, *, public_url: str = DEFAULT_PUBLIC_URL) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks). An empty week is a short plain message, never a broken layout."""
    fallback = safe(md.escape(plain_text(content)))
    week = content.week_label or content.week
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(f"Frictionlog — week {week}", 150)},
        mrkdwn(md.escape(content.summary)),
    ]
    if content.short:
        return fallback, blocks
    blocks += _verdict_and_warnings(content)
    if content.scorecard is not None:
        blocks += _scorecard(content.scorecard)
    blocks += _figures(content)
    if content.migration:
        blocks += _migration(content.migration)
    blocks += _friction(content.friction)
    blocks.append(_footer(content, public_url))
    return fallback, blocks[:MAX_BLOCKS]


def _verdict_and_warnings(content: DigestContent) -> list[dict[str, Any]]:
    """The verdict's sentences, then the week's data-quality warnings in one line (each when there is one)."""
    blocks = []
    if content.verdict:
        blocks.append(mrkdwn(md.join("\n", content.verdict)))
    if content.warnings:
        blocks.append(context(fmt("⚠ Data quality: {}", " · ".join(warning_line(w) for w in content.warnings))))
    return blocks


def scorecard_line(tile: ScorecardTile) -> Mrkdwn:
    """ "🟢 *Deployment velocity* — Deploys per week +90% (90 % interval +50% to +140%): changed"; the mark
    is the one colour rule's (``service.digest.colour.SLACK``)."""
    criterion = ""
    if tile.criterion_status is not None:
        criterion = f" · criterion {CRITERION_STATUS_WORDS[tile.criterion_status]}"
    figure = "" if tile.estimate is None else f" {tile.estimate:+.0%} ({interval(tile.low, tile.high)})"
    caveat = f" · {tile.sensitivity}" if tile.sensitivity else ""
    return fmt(
        "{} *{}* — {}{}: {}{}{}",
        colour.SLACK[tile.tone],
        tile.title,
        tile.label,
        figure,
        VERDICT_WORDS[tile.verdict],
        criterion,
        caveat,
    )


def _scorecard(part: ScorecardPart) -> list[dict[str, Any]]:
    """The tiles, one line each with the colour rule's mark, the net line, and the legend."""
    lines = md.join("\n", (scorecard_line(t) for t in part.tiles))
    blocks = [mrkdwn(fmt("*Scorecard*\n{}", lines))]
    if part.net is not None:
        blocks.append(mrkdwn(fmt("*Net, per week*: {}", part.net.sentence)))
    blocks.append(context(fmt("🟢 better · 🔴 worse · ⚪ no clear change — {}", part.legend)))
    return blocks


def _figures(content: DigestContent) -> list[dict[str, Any]]:
    """The headline figures; cost and utilisation; productivity and incident categories together."""
    headline = md.join("\n", (fmt("• {}", headline_line(row)) for row in content.headline))
    blocks = [mrkdwn(fmt("*Headline*\n{}", headline))]
    if content.cost:
        figures = md.join("\n", (fmt("• {}", line) for line in cost_lines(content.cost)))
        blocks.append(mrkdwn(fmt("*Cost and utilisation*\n{}", figures)))
    others = []
    if content.productivity:
        others.append(fmt("• {}", productivity_line(content.productivity)))
    if content.incident_categories:
        others.append(fmt("• {}", incidents_line(content.incident_categories)))
    if others:
        blocks.append(mrkdwn(md.join("\n", others)))
    return blocks


def _migration(migration: MigrationPart) -> list[dict[str, Any]]:
    """The migration's lines under its first as a title, and its cohorts over the last four weeks."""
    first, *rest = migration_lines(migration)
    lines = [fmt("*{}*", first), *(fmt("• {}", line) for line in rest)]
    cohorts = md.join(
        " · ",
        (
            fmt(
                "{}: {}, {} deploys/week",
                COHORT_WORDS.get(name, name),
                plural(c.services, "service"),
                f"{c.deploys or 0:.1f}",
            )
            for name, c in migration.cohorts.items()
        ),
    )
    return [
        mrkdwn(md.join("\n", lines)),
        context(fmt("{} ({})", cohorts, migration.cohorts_over)),
    ]


def _friction(friction: FrictionPart) -> list[dict[str, Any]]:
    """New reports and the top categories; each rising theme with its example; quotes; you said → we did."""
    lines = [
        fmt(
            "*Friction*: {} ({} the week before), {} h lost",
            plural(friction.new, "new report"),
            friction.last_week,
            friction.hours_lost,
        )
    ]
    lines += [fmt("• {}: {} (last week {})", c.title, c.reports, c.last_week) for c in friction.top_categories]
    blocks = [mrkdwn(md.join("\n", lines))]
    blocks += [_rising_theme(t) for t in friction.rising_themes]  # each with its own example, never above quotes
    if friction.quotes:
        quotes = md.join("\n", (quote(q) for q in friction.quotes))
        blocks.append(mrkdwn(fmt("*In engineers’ words this week*\n{}", quotes)))
    if friction.you_said_we_did:
        said = [fmt("• #{} “{}” → {}", i.id, i.text, i.note) for i in friction.you_said_we_did]
        blocks.append(mrkdwn(fmt("*You said → we did*\n{}", md.join("\n", said))))
    return blocks


def _rising_theme(theme: RisingTheme) -> dict[str, Any]:
    """ "Rising: title on `service` (n reports), e.g." and the theme's example as a quote."""
    where = fmt(" on {}", code(theme.service)) if theme.service else Mrkdwn("")
    example = quote(theme.example)
    reports = plural(theme.reports, "report")
    return mrkdwn(fmt("Rising: {}{} ({}), e.g.\n{}", theme.title, where, reports, example))


def _footer(content: DigestContent, public_url: str) -> dict[str, Any]:
    """The definitions' version and the link to the full digest."""
    return context(
        fmt(
            "Definitions v{} · {}",
            content.definitions_version,
            link(digest_link(content, public_url), "the full digest with charts"),
        )
    )
