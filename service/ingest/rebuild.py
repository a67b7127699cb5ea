"""What ``frictionlog rebuild`` changed: counts of the derived rows before and after, and every friction
report whose category the rebuild re-derived differently (a lead's category never changes: see ingest)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from service.core.models import DERIVED_TABLES, FrictionReport


@dataclass(frozen=True, slots=True)
class Snapshot:
    counts: dict[str, int]
    categories: dict[int, tuple[str, str]]
    """Report id → (category, who chose it)."""


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

    def lines(self) -> list[str]:
        if not self.counts and not self.recategorised:
            return ["the rebuild changed nothing: the same rows and the same categories"]
        out = [f"{table}: {before} → {after} rows" for table, (before, after) in sorted(self.counts.items())]
        out += [f"friction #{r.report_id}: {r.before} → {r.after} (by {r.chosen_by})" for r in self.recategorised]
        return out


def snapshot(session: Session) -> Snapshot:
    counts = {
        name: int(session.exec(select(func.count()).select_from(SQLModel.metadata.tables[name])).one())
        for name in DERIVED_TABLES
    }
    rows = session.exec(select(FrictionReport.id, FrictionReport.category, FrictionReport.category_source))
    return Snapshot(counts=counts, categories={rid: (category, source) for rid, category, source in rows})


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
    return RebuildChanges(counts=counts, recategorised=recategorised)
