"""Words for numbers, shared by every output (Slack, HTML, plain text)."""

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


def headline_line(row: dict[str, Any]) -> str:
    arrow = ARROWS[row["direction"]] if row["this_week"] is not None else ""
    verdict = "" if row["better"] is None else (" (better)" if row["better"] else " (worse)")
    base = f"; before the migration {number(row['baseline'], row['unit'])}" if row["baseline"] is not None else ""
    thin = " — not enough data for a trend" if row["low_sample"] else ""
    band = f" · DORA {row['band']}" if row.get("band") else ""
    return (
        f"{row['label']}: {number(row['this_week'], row['unit'])} {arrow}{verdict} "
        f"vs {number(row['four_week_average'], row['unit'])} 4-week average{base}{band}{thin}"
    )


def plain_text(content: dict[str, Any]) -> str:
    """The fallback text of the Slack message, and the text version of the digest."""
    lines = [f"Frictionlog weekly digest {content['week']} — {content['summary']}"]
    if content["empty"]:
        return lines[0]
    lines += [headline_line(row) for row in content["headline"]]
    migration = content.get("migration")
    if migration:
        moved, total = migration["services_migrated"], migration["services_total"]
        lines.append(f"Migration {migration['name']}: {moved}/{total} services moved.")
        lines += [item["sentence"] for item in migration["before_after"]]
    friction = content["friction"]
    lines.append(
        f"Friction: {friction['new']} new reports ({friction['last_week']} last week), "
        f"{friction['hours_lost']} hours lost."
    )
    return "\n".join(lines)
