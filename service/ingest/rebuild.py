"""What ``frictionlog rebuild`` changed: counts of the derived rows before and after, and every friction
report whose category the rebuild re-derived differently (a lead's category never changes: see ingest)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from service.core.models import DERIVED_TABLES, FrictionReport

BY_SERVICE = ("deployment", "incident", "change", "friction_report")
"""Tables whose rows a rule can move between services (an alias): compared service by service."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    counts: dict[str, int]
    categories: dict[int, tuple[str, str]]
    """Report id → (category, who chose it)."""
    by_service: dict[tuple[str, str], int]
    """(table, service) → rows: the same totals can hide rows that moved from one service to another."""


@dataclass(frozen=True, slots=True)
class Recategorised:
    report_id: int
    before: str
    after: str
    chosen_by: str


@dataclass(frozen=True, slots=True)
class RebuildChanges:
    counts: dict[str, tuple[int, int]]
    """Table → (rows before, rows after), for the tables whose count changed."""
    recategorised: list[Recategorised]
    moved: dict[tuple[str, str], tuple[int, int]]
    """(table, service) → (rows before, rows after), where a service's rows changed."""

    def lines(self) -> list[str]:
        if not self.counts and not self.recategorised and not self.moved:
            return ["the rebuild changed nothing: the same rows, under the same services, and the same categories"]
        out = [f"{table}: {before} → {after} rows" for table, (before, after) in sorted(self.counts.items())]
        out += [f"{table} of {service}: {a} → {b} rows" for (table, service), (a, b) in sorted(self.moved.items())]
        out += [f"friction #{r.report_id}: {r.before} → {r.after} (by {r.chosen_by})" for r in self.recategorised]
        return out


def snapshot(session: Session) -> Snapshot:
    counts = {
        name: int(session.exec(select(func.count()).select_from(SQLModel.metadata.tables[name])).one())
        for name in DERIVED_TABLES
    }
    rows = session.exec(select(FrictionReport.id, FrictionReport.category, FrictionReport.category_source))
    by_service: dict[tuple[str, str], int] = {}
    for name in BY_SERVICE:
        table = SQLModel.metadata.tables[name]
        for service, count in session.exec(select(table.c.service, func.count()).group_by(table.c.service)):
            by_service[(name, str(service))] = int(count)
    return Snapshot(
        counts=counts, categories={rid: (category, source) for rid, category, source in rows}, by_service=by_service
    )


def changes(before: Snapshot, after: Snapshot) -> RebuildChanges:
    counts = {
        name: (before.counts.get(name, 0), count)
        for name, count in after.counts.items()
        if before.counts.get(name, 0) != count
    }
    recategorised = [
        Recategorised(report_id=rid, before=before.categories[rid][0], after=category, chosen_by=source)
        for rid, (category, source) in sorted(after.categories.items())
        if rid in before.categories and before.categories[rid][0] != category
    ]
    keys = set(before.by_service) | set(after.by_service)
    moved = {
        key: (before.by_service.get(key, 0), after.by_service.get(key, 0))
        for key in keys
        if before.by_service.get(key, 0) != after.by_service.get(key, 0)
    }
    return RebuildChanges(counts=counts, recategorised=recategorised, moved=moved)
