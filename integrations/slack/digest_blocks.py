"""The weekly digest as Block Kit: ≤ 50 blocks, ≤ 3000 characters a text, with a plain-text fallback."""

from __future__ import annotations

from typing import Any

from integrations.slack.blocks import clip, context, mrkdwn, plain
from service.digest.render import headline_line, migration_lines, plain_text, warning_line

MAX_BLOCKS = 50


def digest_blocks(content: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks). An empty week is a short plain message, never a broken layout."""
    fallback = clip(plain_text(content), 3000)
    week = content.get("week_label") or content["week"]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(f"Frictionlog — week {week}", 150)},
        mrkdwn(content["summary"]),
    ]
    if content["empty"]:
        return fallback, blocks
    if content.get("verdict"):
        blocks.append(mrkdwn("\n".join(content["verdict"])))
    if content.get("warnings"):
        blocks.append(context("⚠ Data quality: " + " · ".join(warning_line(w) for w in content["warnings"])))
    blocks.append(mrkdwn("*Headline*\n" + "\n".join(f"• {headline_line(row)}" for row in content["headline"])))
    migration = content.get("migration")
    if migration:
        first, *rest = migration_lines(migration)
        blocks.append(mrkdwn(f"*{first}*\n" + "\n".join(f"• {line}" for line in rest)))
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
    blocks.append(mrkdwn("\n".join(lines)))
    for t in friction["rising_themes"]:  # each rising theme with its own example, never above other quotes
        where = f" on `{t['service']}`" if t["service"] else ""
        blocks.append(mrkdwn(f"Rising: {t['title']}{where} ({t['reports']} reports), e.g.\n>{t['example']}"))
    if friction["quotes"]:
        blocks.append(mrkdwn("*In engineers’ words this week*\n" + "\n".join(f">{q}" for q in friction["quotes"])))
    if friction["you_said_we_did"]:
        said = [f"• #{i['id']} “{i['text']}” → {i['note']}" for i in friction["you_said_we_did"]]
        blocks.append(mrkdwn("*You said → we did*\n" + "\n".join(said)))
    blocks.append(
        context(
            f"Definitions v{content['definitions_version']} · the full digest with charts: /digests/{content['week']}"
        )
    )
    return fallback, blocks[:MAX_BLOCKS]
