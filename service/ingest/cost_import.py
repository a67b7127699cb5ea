"""Importing a FOCUS file: read and check all of it, then replace its billing periods in one transaction.

A re-import of a billing period (per provider) deletes that period's FOCUS lines and writes the new
ones, so importing the same bill twice — or a corrected bill — never adds to what is there. A file that
fails anywhere imports nothing: every row is checked before the first write.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, or_
from sqlmodel import Session, col, select

from service.core.aliases import resolve as resolve_aliases
from service.core.db import execute_rows, upsert_insert
from service.core.marks import mark_dirty
from service.core.models import PlatformAssignment, RollupState, Service
from service.core.models.cost import CostImport, CostLine
from service.core.settings import Settings
from service.figures import rollups_db
from service.figures.catalogue import platform_at
from service.figures.cost.currency import Currencies
from service.figures.cost.focus import FocusPolicy, FocusSummary, external_id, read_focus
from service.figures.cost.focus_files import iter_rows
from service.figures.cost.rollups_db import dirty_pairs

log = logging.getLogger("frictionlog.cost")
SOURCE = "focus"


@dataclass(frozen=True, slots=True)
class ImportResult:
    import_id: int
    rows: int
    lines: int
    billing_periods: list[str]
    replaced_lines: int


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
    for key, amount in summary.lines.items():
        moved = (*key[:2], renamed.get(key[2] or "", key[2]), *key[3:]) if key[2] in renamed else key
        merged[moved] = merged.get(moved, 0.0) + amount
    summary.lines = merged


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
    _rename_aliases(session, summary)
    histories = _histories(session)
    scopes = sorted(summary.periods)
    replaced = 0
    scope_filter = or_(
        *(
            and_(col(CostLine.provider) == provider, col(CostLine.billing_period_start) == start)
            for provider, start in scopes
        )
    )
    previous = session.exec(
        select(CostLine.service, CostLine.period_start, CostLine.period_end)
        .where(col(CostLine.source) == SOURCE, scope_filter)
        .distinct()
    ).all()
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
    rows = [
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
            "import_id": record.id,
        }
        for key, amount in summary.lines.items()
    ]
    for start in range(0, len(rows), 5000):
        session.connection().execute(CostLine.__table__.insert(), rows[start : start + 5000])  # type: ignore[attr-defined]
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
        billing_periods=[f"{p or '-'} {s.date().isoformat()}" for p, s in scopes],
        replaced_lines=int(replaced or 0),
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
