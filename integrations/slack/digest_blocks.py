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
from service.core.words import plural
from service.digest.render import (
    cost_lines,
    headline_line,
    incidents_line,
    migration_lines,
    plain_text,
    productivity_line,
    warning_line,
)

MAX_BLOCKS = 50
DEFAULT_PUBLIC_URL: str = Settings.model_fields["public_url"].default


def digest_link(content: dict[str, Any], public_url: str) -> str:
    """The digest's page in the web app, absolute (``FRICTIONLOG_PUBLIC_URL``). No token in it: a reader
    without a session signs in first and lands on this page."""
    query = "" if content["audience"] == "leaders" else "?audience=" + urlquote(content["audience"], safe="")
    return f"{public_url.rstrip('/')}/digests/{content['week']}{query}"


def digest_blocks(content: dict[str, Any], *, public_url: str = DEFAULT_PUBLIC_URL) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks). An empty week is a short plain message, never a broken layout."""
    fallback = safe(md.escape(plain_text(content)))
    week = content.get("week_label") or content["week"]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(f"Frictionlog — week {week}", 150)},
        mrkdwn(md.escape(content["summary"])),
    ]
    if content["empty"]:
        return fallback, blocks
    if content.get("verdict"):
        blocks.append(mrkdwn(md.join("\n", content["verdict"])))
    if content.get("warnings"):
        blocks.append(context(fmt("⚠ Data quality: {}", " · ".join(warning_line(w) for w in content["warnings"]))))
    headline = md.join("\n", (fmt("• {}", headline_line(row)) for row in content["headline"]))
    blocks.append(mrkdwn(fmt("*Headline*\n{}", headline)))
    if content.get("cost"):
        figures = md.join("\n", (fmt("• {}", line) for line in cost_lines(content["cost"])))
        blocks.append(mrkdwn(fmt("*Cost and utilisation*\n{}", figures)))
    others = []
    if content.get("productivity"):
        others.append(fmt("• {}", productivity_line(content["productivity"])))
    if content.get("incident_categories"):
        others.append(fmt("• {}", incidents_line(content["incident_categories"])))
    if others:
        blocks.append(mrkdwn(md.join("\n", others)))
    migration = content.get("migration")
    if migration:
        first, *rest = migration_lines(migration)
        lines = [fmt("*{}*", first), *(fmt("• {}", line) for line in rest)]
        blocks.append(mrkdwn(md.join("\n", lines)))
        cohorts = migration["cohorts"]
        blocks.append(
            context(
                fmt(
                    "{} (last 4 weeks)",
                    md.join(
                        " · ",
                        (
                            fmt(
                                "{}: {}, {} deploys/week",
                                name.replace("_", " "),
                                plural(c["services"], "service"),
                                f"{c['deploys'] or 0:.1f}",
                            )
                            for name, c in cohorts.items()
                        ),
                    ),
                )
            )
        )
    friction = content["friction"]
    lines = [
        fmt(
            "*Friction*: {} ({} the week before), {} h lost",
            plural(friction["new"], "new report"),
            friction["last_week"],
            friction["hours_lost"],
        )
    ]
    lines += [
        fmt("• {}: {} (last week {})", c["title"], c["reports"], c["last_week"]) for c in friction["top_categories"]
    ]
    blocks.append(mrkdwn(md.join("\n", lines)))
    for t in friction["rising_themes"]:  # each rising theme with its own example, never above other quotes
        where = fmt(" on {}", code(t["service"])) if t["service"] else Mrkdwn("")
        example = quote(t["example"])
        reports = plural(t["reports"], "report")
        blocks.append(mrkdwn(fmt("Rising: {}{} ({}), e.g.\n{}", t["title"], where, reports, example)))
    if friction["quotes"]:
        quotes = md.join("\n", (quote(q) for q in friction["quotes"]))
        blocks.append(mrkdwn(fmt("*In engineers’ words this week*\n{}", quotes)))
    if friction["you_said_we_did"]:
        said = [fmt("• #{} “{}” → {}", i["id"], i["text"], i["note"]) for i in friction["you_said_we_did"]]
        blocks.append(mrkdwn(fmt("*You said → we did*\n{}", md.join("\n", said))))
    blocks.append(
        context(
            fmt(
                "Definitions v{} · {}",
                content["definitions_version"],
                link(digest_link(content, public_url), "the full digest with charts"),
            )
        )
    )
    return fallback, blocks[:MAX_BLOCKS]
