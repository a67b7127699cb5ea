"""Words for numbers, shared by every output (Slack, HTML, plain text). Everything here is plain text;
each output escapes it in its own builder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.core import vocab
from service.core.vocab import upper_first
from service.core.words import plural
from service.digest.models import (
    CostFigures,
    CostPart,
    DigestContent,
    HeadlineRow,
    IncidentCategories,
    MigrationPart,
    ProductivityPart,
    Warning,
)

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


def tone(better: bool | None) -> str:
    """The CSS class of a judged figure: ``better``, ``worse``, or none."""
    return "" if better is None else ("better" if better else "worse")


def judged(better: bool | None) -> str:
    return "" if better is None else (" (better)" if better else " (worse)")


def headline_line(row: HeadlineRow) -> str:
    """ "Lead time: 6.0 h ↑ vs 5.0 h 4-week average (worse); before the migration 40.0 h (better)"."""
    arrow = ARROWS[row.direction] if row.this_week is not None else ""
    base = ""
    if row.baseline is not None:
        base = f"; before the migration {number(row.baseline, row.unit)}{judged(row.vs_baseline)}"
    thin = " — not enough data for a trend" if row.low_sample else ""
    band = f" · DORA {row.band}" if row.band else ""
    return (
        f"{row.label}: {number(row.this_week, row.unit)} {arrow} "
        f"vs {number(row.four_week_average, row.unit)} 4-week average{judged(row.vs_four_weeks)}{base}{band}{thin}"
    )


def warning_line(warning: Warning) -> str:
    """ "1 incident not linked to any deployment … (e.g. a, b)": the message is the whole sentence, its count
    and noun agreeing. A digest kept before messages carried their count ("incidents not linked …") gets
    the count in front as items, so it still reads right."""
    examples = f" (e.g. {', '.join(warning.examples[:3])})" if warning.examples else ""
    message = warning.message
    if not message.startswith(f"{warning.count:,} "):
        message = f"{plural(warning.count, 'item')}: {message}"
    return f"{message}{examples}"


def migration_lines(migration: MigrationPart) -> list[str]:
    """The migration section as lines: progress, effects, criteria and moved goalposts."""
    moved, total = migration.services_migrated, migration.services_total
    lines = [f"Migration {migration.name}: {moved} of {plural(total, 'service')} moved."]
    if migration.schedule:
        lines.append(migration.schedule)
    lines += [item.sentence for item in migration.before_after]
    for criterion in migration.criteria:
        lines.append(f"Criterion — {criterion.sentence}")
    for change in migration.criteria_changes:
        lines.append(f"Changed after the start — {change.sentence}")
    return lines


def money(value: float | None, currency: str) -> str:
    return "–" if value is None else f"{value:,.0f} {currency}"


def share(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f} %"


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


def days(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} days"


@dataclass(frozen=True, slots=True)
class CostRow:
    shown: str
    """How it is shown: money, share or seconds (``cost_value``)."""
    read: Callable[[CostFigures], float | None]
    """The figure in a week's (or the average's) ``CostFigures``."""
    metric: str | None = None
    """The vocabulary's metric the figure is the week's value of: its name and direction come from there."""
    words: str = ""
    """The label of a figure that is no metric; after a metric's name, what qualifies it."""
    lower: bool = True
    """Whether less is better, for a figure that is no metric."""

    @property
    def label(self) -> str:
        if self.metric is None:
            return self.words
        return f"{upper_first(vocab.metric(self.metric).in_sentence)}{self.words}"

    @property
    def lower_is_better(self) -> bool:
        return self.lower if self.metric is None else not vocab.metric(self.metric).higher_is_better

    def value(self, figures: CostFigures | None) -> float | None:
        return None if figures is None else self.read(figures)


COST_ROWS = (
    CostRow("money", lambda f: f.compute_cost, metric="compute_cost"),
    CostRow("share", lambda f: f.unallocated_cost_share, words="Unallocated share (no service tag)"),
    CostRow("share", lambda f: f.gpu_utilisation, metric="gpu_utilisation", words=" (used ÷ provisioned)"),
    CostRow("money", lambda f: f.idle_gpu_cost, words="Idle GPU cost"),
    CostRow("seconds", lambda f: f.cold_start_p95_seconds, metric="cold_start_p95"),
)
"""The week's cost figures, in the order shown; a metric's row is named by the vocabulary."""


def cost_value(value: float | None, shown: str, currency: str) -> str:
    if shown == "money":
        return money(value, currency)
    return share(value) if shown == "share" else seconds(value)


def cost_lines(cost: CostPart) -> list[str]:
    """ "Compute cost: 12,400 USD vs 11,900 USD 4-week average", one per figure, then cost per platform."""
    lines = []
    for row in COST_ROWS:
        now, then = row.value(cost.this_week), row.value(cost.four_week_average)
        if now is None and then is None:
            continue  # a figure with no data at all is left out
        lines.append(
            f"{row.label}: {cost_value(now, row.shown, cost.currency)} vs "
            f"{cost_value(then, row.shown, cost.currency)} 4-week average"
        )
    platforms = " · ".join(f"{p.platform} {money(p.this_week, cost.currency)}" for p in cost.by_platform)
    if platforms:
        lines.append(f"Cost per platform this week: {platforms}")
    if cost.sentence:
        lines.append(cost.sentence)
    return lines


def productivity_line(part: ProductivityPart) -> str:
    """Support load from the trackers beside the friction engineers report."""
    resolve = part.time_to_resolve_median_days
    resolved = f", resolved in a median {days(resolve)}" if resolve is not None else ""
    ship = ""
    if part.features_shipped:
        thin = " (few features: not a trend)" if part.time_to_ship_low_sample else ""
        ship = (
            f"; {plural(part.features_shipped, 'feature')} shipped, "
            f"in {days(part.time_to_ship_mean_days)} on average{thin}"
        )
    return (
        f"Engineering productivity: {plural(part.support_tickets, 'infrastructure support ticket')} opened "
        f"(4-week average {part.support_tickets_four_week_average:.1f}){resolved}, "
        f"{part.open_support_tickets} open; {plural(part.friction_hours_lost, 'hour')} lost to friction "
        f"(4-week average {part.friction_hours_four_week_average:.1f}){ship}."
    )


def incidents_line(part: IncidentCategories) -> str:
    return (
        f"Infrastructure-related incidents: {part.infrastructure} of {plural(part.total, 'incident')} "
        f"(4-week average {part.infrastructure_four_week_average:.1f} of {part.total_four_week_average:.1f}); "
        f"{part.application} application, {part.unknown} not classified."
    )


def resource_lines(content: DigestContent) -> list[str]:
    """Cost and utilisation, engineering productivity and incident categories, as plain lines."""
    lines = []
    if content.cost:
        lines += cost_lines(content.cost)
    if content.productivity:
        lines.append(productivity_line(content.productivity))
    if content.incident_categories:
        lines.append(incidents_line(content.incident_categories))
    return lines


def plain_text(content: DigestContent) -> str:
    """The fallback text of the Slack message, and the text version of the digest."""
    week = content.week_label or content.week
    lines = [f"Frictionlog weekly digest {week} — {content.summary}"]
    if content.short:
        return lines[0]
    lines += content.verdict
    lines += [headline_line(row) for row in content.headline]
    lines += resource_lines(content)
    if content.migration:
        lines += migration_lines(content.migration)
    friction = content.friction
    lines.append(
        f"Friction: {plural(friction.new, 'new report')} ({friction.last_week} last week), "
        f"{plural(friction.hours_lost, 'hour')} lost."
    )
    lines += [f"Data warning: {warning_line(w)}" for w in content.warnings]
    return "\n".join(lines)
