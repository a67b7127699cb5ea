"""The weekly digest as Block Kit: ≤ 50 blocks, ≤ 3000 characters a text, with a plain-text fallback."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote as urlquote

from integrations.slack.blocks import clip, context, mrkdwn, plain
from service.digest.render import headline_line, plain_text
from service.settings import Settings

MAX_BLOCKS = 50
DEFAULT_PUBLIC_URL: str = Settings.model_fields["public_url"].default


def digest_link(content: dict[str, Any], public_url: str) -> str:
    """The digest's page in the web app, absolute (``FRICTIONLOG_PUBLIC_URL``). No token in it: a reader
    without a session signs in first and lands on this page."""
    query = "" if content["audience"] == "leaders" else "?audience=" + urlquote(content["audience"], safe="")
    return f"{public_url.rstrip('/')}/digests/{content['week']}{query}"


def digest_blocks(content: dict[str, Any], *, public_url: str = DEFAULT_PUBLIC_URL) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks). An empty week is a short plain message, never a broken layout."""
    fallback = clip(plain_text(content), 3000)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(f"Frictionlog — week {content['week']}", 150)},
        mrkdwn(content["summary"]),
    ]
    if content["empty"]:
        return fallback, blocks
    blocks.append(mrkdwn("*Headline*\n" + "\n".join(f"• {headline_line(row)}" for row in content["headline"])))
    migration = content.get("migration")
    if migration:
        moved, total = migration["services_migrated"], migration["services_total"]
        lines = [f"*The migration — {migration['name']}*: {moved}/{total} services moved"]
        lines += [f"• {item['sentence']}" for item in migration["before_after"]]
        blocks.append(mrkdwn("\n".join(lines)))
        cohorts = migration["cohorts"]
        blocks.append(
            context(
                " · ".join(
                    f"{name.replace('_', ' ')}: {c['services']} services, "
                    f"{c['deployment_frequency'] or 0:.1f} deploys/week"
                    for name, c in cohorts.items()
                )
                + " (last 4 weeks)"
            )
        )
    friction = content["friction"]
    lines = [
        f"*Friction*: {friction['new']} new reports ({friction['last_week']} the week before), "
        f"{friction['hours_lost']} h lost"
    ]
    lines += [f"• {c['title']}: {c['reports']} (last week {c['last_week']})" for c in friction["top_categories"]]
    lines += [
        f"• Rising: {t['title']}{' on `' + t['service'] + '`' if t['service'] else ''} ({t['reports']} reports)"
        for t in friction["rising_themes"]
    ]
    blocks.append(mrkdwn("\n".join(lines)))
    for quote in friction["quotes"]:
        blocks.append(mrkdwn(f">{quote}"))
    if friction["you_said_we_did"]:
        said = [f"• #{i['id']} “{i['text']}” → {i['note']}" for i in friction["you_said_we_did"]]
        blocks.append(mrkdwn("*You said → we did*\n" + "\n".join(said)))
    blocks.append(
        context(
            f"Definitions v{content['definitions_version']} · "
            f"<{digest_link(content, public_url)}|the full digest with charts>"
        )
    )
    return fallback, blocks[:MAX_BLOCKS]
