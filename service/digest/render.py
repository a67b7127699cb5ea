"""Words for numbers, shared by every output (Slack, HTML, plain text). Everything here is plain text;
each output escapes it in its own builder."""

from __future__ import annotations

from typing import Any

ARROWS = {"up": "↑", "down": "↓", "flat": "→", "new": "•"}


def number(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "%":
        return f"{value:.0f} %"
    if unit == "hours":
        return f"{value * 60:.0f} min" if value < 1 else f"{value:.1f} h"
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:.1f}"


def judged(better: bool | None) -> str:
    return "" if better is None else (" (better)" if better else " (worse)")


def headline_line(row: dict[str, Any]) -> str:
    """ "Lead time: 6.0 h ↑ vs 5.0 h 4-week average (worse); before the migration 40.0 h (better)"."""
    arrow = ARROWS[row["direction"]] if row["this_week"] is not None else ""
    four = row.get("vs_four_weeks", row["better"])
    base = ""
    if row["baseline"] is not None:
        base = f"; before the migration {number(row['baseline'], row['unit'])}{judged(row.get('vs_baseline'))}"
    thin = " — not enough data for a trend" if row["low_sample"] else ""
    band = f" · DORA {row['band']}" if row.get("band") else ""
    return (
        f"{row['label']}: {number(row['this_week'], row['unit'])} {arrow} "
        f"vs {number(row['four_week_average'], row['unit'])} 4-week average{judged(four)}{base}{band}{thin}"
    )


def warning_line(warning: dict[str, Any]) -> str:
    examples = f" (e.g. {', '.join(warning['examples'][:3])})" if warning.get("examples") else ""
    return f"{warning['count']} {warning['message']}{examples}"


def migration_lines(migration: dict[str, Any]) -> list[str]:
    """The migration section as lines: progress, effects, criteria and moved goalposts."""
    moved, total = migration["services_migrated"], migration["services_total"]
    lines = [f"Migration {migration['name']}: {moved}/{total} services moved."]
    if migration.get("schedule"):
        lines.append(migration["schedule"])
    lines += [item["sentence"] for item in migration["before_after"]]
    for criterion in migration.get("criteria", []):
        lines.append(f"Criterion — {criterion['sentence']}")
    for change in migration.get("criteria_changes", []):
        lines.append(f"Changed after the start — {change['sentence']}")
    return lines


def plain_text(content: dict[str, Any]) -> str:
    """The fallback text of the Slack message, and the text version of the digest."""
    week = content.get("week_label") or content["week"]
    lines = [f"Frictionlog weekly digest {week} — {content['summary']}"]
    if content["empty"]:
        return lines[0]
    lines += content.get("verdict", [])
    lines += [headline_line(row) for row in content["headline"]]
    migration = content.get("migration")
    if migration:
        lines += migration_lines(migration)
    friction = content["friction"]
    lines.append(
        f"Friction: {friction['new']} new reports ({friction['last_week']} last week), "
        f"{friction['hours_lost']} hours lost."
    )
    lines += [f"Data warning: {warning_line(w)}" for w in content.get("warnings", [])]
    return "\n".join(lines)
