"""Importing a FOCUS file: read and check all of it, then replace its billing periods in one transaction.

A re-import of a billing period (per provider) deletes that period's FOCUS lines and writes the new
ones, so importing the same bill twice — or a corrected bill — never adds to what is there. Only the periods
the file *declares* (its rows' ``BillingPeriodStart``) are replaced: a row without one counts in its charge's
month, but that month is not replaced — its line is added, or updated if the same line (same key) is there,
so a November file with one credit dated 31 October cannot wipe October. :func:`plan` says, before anything
is written, what an import would replace (``frictionlog cost import --dry-run``). A file that fails anywhere
imports nothing: every row is checked before the first write.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, func, or_
from sqlmodel import Session, col, select

from service.core.aliases import resolve as resolve_aliases
from service.core.db import execute_rows, one_at_a_time, upsert_insert
from service.core.marks import mark_dirty
from service.core.models import PlatformAssignment, RollupState, Service
from service.core.models.cost import CostImport, CostLine
from service.core.settings import Settings
from service.figures import rollups_db
from service.figures.catalogue import platform_at
from service.figures.cost.currency import Currencies
from service.figures.cost.focus import FocusPolicy, FocusSummary, add_detail, external_id, read_focus
from service.figures.cost.focus_files import iter_rows
from service.figures.cost.rollups_db import dirty_pairs

log = logging.getLogger("frictionlog.cost")
SOURCE = "focus"


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did (the API's answer to it as well)."""

    import_id: int
    rows: int
    """Rows read from the file."""
    lines: int
    """Cost lines stored (rows summed per service, platform, category, currency and charge period)."""
    billing_periods: list[str]
    """The (provider, billing period) scopes this import replaced: those its rows declare (BillingPeriodStart)."""
    replaced_lines: int
    undeclared_periods: list[str]
    """Periods the file's rows fall in without declaring them: lines added or updated there, none replaced."""


@dataclass(frozen=True, slots=True)
class ScopeChange:
    """What an import does to one (provider, billing period)."""

    provider: str
    period: datetime
    declared: bool
    stored: int
    """FOCUS lines stored in it now: all replaced if declared; else those the import updates (same key)."""
    incoming: int

    def words(self) -> str:
        where = f"{self.provider or '-'} {self.period.date().isoformat()}"
        if self.declared:
            return f"{where}: replaces its {self.stored} stored lines with {self.incoming}"
        return (
            f"{where} (no BillingPeriodStart: not replaced): adds {self.incoming - self.stored} lines, "
            f"updates {self.stored}, leaves its other lines"
        )


def _scope_label(provider: str, start: datetime) -> str:
    return f"{provider or '-'} {start.date().isoformat()}"


def plan(session: Session, summary: FocusSummary) -> list[ScopeChange]:
    """What importing ``summary`` would do, scope by scope, without writing anything."""
    incoming: dict[tuple[str, datetime], list[str]] = {}
    for key in summary.lines:
        incoming.setdefault((key[0], key[1]), []).append(external_id(key))
    changes = []
    counted = select(func.count()).select_from(CostLine).where(col(CostLine.source) == SOURCE)
    for scope in sorted(summary.periods | summary.declared):
        provider, start = scope
        ids = incoming.get(scope, [])
        if scope in summary.declared:
            in_scope = counted.where(col(CostLine.provider) == provider, col(CostLine.billing_period_start) == start)
            count = int(session.exec(in_scope).one())
        else:  # the stored lines with the same keys, a few hundred ids per query (SQLite's variable limit)
            count = sum(
                int(session.exec(counted.where(col(CostLine.external_id).in_(ids[at : at + 500]))).one())
                for at in range(0, len(ids), 500)
            )
        changes.append(ScopeChange(provider, start, scope in summary.declared, count, len(ids)))
    return changes


def focus_policy(settings: Settings) -> FocusPolicy:
    return FocusPolicy(
        service_tags=tuple(settings.cost_service_tags),
        currencies=Currencies.from_settings(settings),
        aliases=dict(settings.service_aliases),
    )


def _histories(session: Session) -> dict[str, list[PlatformAssignment]]:
    histories: dict[str, list[PlatformAssignment]] = {}
    for period in session.exec(select(PlatformAssignment).order_by(col(PlatformAssignment.effective_from))):
        histories.setdefault(period.service, []).append(period)
    return histories


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_file(settings: Settings, path: Path, *, progress: Callable[[int], None] | None = None) -> FocusSummary:
    """Read and check the whole file, no database involved (so no write lock is held while it is read)."""
    return read_focus(iter_rows(path), focus_policy(settings), progress=progress)


def _rename_aliases(session: Session, summary: FocusSummary) -> None:
    """A tag naming a catalogue alias (a renamed or merged service) counts for that service, as every other
    source's events do (service.core.aliases)."""
    renamed = resolve_aliases(session, {key[2] for key in summary.lines if key[2]})
    if not renamed:
        return
    merged: dict[Any, float] = {}
    details: dict[Any, dict[str, float]] = {}
    for key, amount in summary.lines.items():
        moved = (*key[:2], renamed.get(key[2] or "", key[2]), *key[3:]) if key[2] in renamed else key
        merged[moved] = merged.get(moved, 0.0) + amount
        into = details.setdefault(moved, {})
        for description, part in summary.details.get(key, {}).items():
            add_detail(into, description, part)
    summary.lines, summary.details = merged, details


def _line_rows(summary: FocusSummary, histories: dict[str, Any], import_id: int | None) -> list[dict[str, Any]]:
    """The ``cost_line`` rows of a folded file: one per line key, its descriptions as ``details``."""
    return [
        {
            "source": SOURCE,
            "external_id": external_id(key),
            "service": key[2],
            "platform": key[3] or platform_at(histories.get(key[2] or "", []), key[6]),
            "platform_tagged": key[3],
            "category": key[4],
            "resource": key[8],
            "period_start": key[6],
            "period_end": key[7],
            "amount": amount,
            "currency": key[5],
            "provider": key[0],
            "billing_period_start": key[1],
            "import_id": import_id,
            "details": summary.details.get(key) or None,
        }
        for key, amount in summary.lines.items()
    ]


def import_focus(
    session: Session,
    settings: Settings,
    path: Path,
    *,
    filename: str | None = None,
    progress: Callable[[int], None] | None = None,
    summary: FocusSummary | None = None,
) -> ImportResult:
    """Import a FOCUS CSV, gzip'd CSV or Parquet file (commits). InvalidInput (FocusError) imports nothing.

    Pass the ``summary`` of :func:`read_file` to read the file before opening a writing session: on SQLite
    the write lock then lasts only for the replacement, not for reading a million rows."""
    if summary is None:
        summary = read_file(settings, path, progress=progress)
    # Two imports at once (an upload whose client gave up while the server went on, then the corrected bill)
    # replace their periods one after the other: neither keeps lines the other replaced.
    one_at_a_time(session, "cost_import")
    _rename_aliases(session, summary)
    histories = _histories(session)
    scopes = sorted(summary.declared)
    previous: list[Any] = []
    replaced = 0
    if scopes:
        scope_filter = or_(
            *(
                and_(col(CostLine.provider) == provider, col(CostLine.billing_period_start) == start)
                for provider, start in scopes
            )
        )
        previous = list(
            session.exec(
                select(CostLine.service, CostLine.period_start, CostLine.period_end)
                .where(col(CostLine.source) == SOURCE, scope_filter)
                .distinct()
            ).all()
        )
        replaced = session.exec(delete(CostLine).where(col(CostLine.source) == SOURCE, scope_filter)).rowcount
    record = CostImport(
        filename=(filename or path.name)[:512],
        sha256=file_sha256(path),
        rows=summary.rows,
        lines=len(summary.lines),
        billing_periods=",".join(f"{p}|{s.date().isoformat()}" for p, s in scopes)[:2048],
    )
    session.add(record)
    session.flush()
    services = sorted({key[2] for key in summary.lines if key[2]})
    execute_rows(
        session,
        upsert_insert(session, Service).on_conflict_do_nothing(),
        [{"slug": s} for s in services],
        key=("slug",),
    )
    rows = _line_rows(summary, histories, record.id)
    # A line of an undeclared period may be there already (the same file again): it is updated, not doubled.
    upsert = upsert_insert(session, CostLine)
    upsert = upsert.on_conflict_do_update(
        index_elements=["source", "external_id"],
        set_={
            name: getattr(upsert.excluded, name)
            for name in ("amount", "platform", "platform_tagged", "import_id", "details")
        },
    )
    for start in range(0, len(rows), 5000):
        session.connection().execute(upsert, rows[start : start + 5000])
    spans = [*previous, *{(key[2], key[6], key[7]) for key in summary.lines}]
    mark_dirty(session, dirty_pairs(spans), tz=settings.timezone)
    session.commit()
    if session.get(RollupState, settings.timezone) is not None:  # rollups in use: show the new bill at once
        rollups_db.refresh(session, settings)
    assert record.id is not None
    log.info("cost.imported id=%s rows=%s lines=%s replaced=%s", record.id, summary.rows, len(rows), replaced)
    return ImportResult(
        import_id=record.id,
        rows=summary.rows,
        lines=len(rows),
        billing_periods=[_scope_label(p, s) for p, s in scopes],
        replaced_lines=int(replaced or 0),
        undeclared_periods=[_scope_label(p, s) for p, s in sorted(summary.periods - summary.declared)],
    )


UPLOAD_SUFFIX = ".upload"


def upload_prefix() -> str:
    """A spooled upload's name starts with the pid of the process writing it: ``<pid>-``."""
    return f"{os.getpid()}-"


def remove_stale_uploads(directory: Path) -> int:
    """Delete the spooled uploads of processes that are gone (a server killed mid-upload leaves its file):
    called when a server starts. A file of a process still running, another replica's, is left alone.
    Returns how many were removed."""
    removed = 0
    for path in directory.glob(f"*{UPLOAD_SUFFIX}") if directory.is_dir() else ():
        owner = path.name.split("-", 1)[0]
        if owner.isdigit() and int(owner) != os.getpid() and _running(int(owner)):
            continue
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: running
        return True
    return True
