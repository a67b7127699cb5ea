"""Apply work-item records: idempotent upserts by natural key, inside the worker's batch transaction.

An item's row holds its newest state: a record older than the stored ``updated_at`` (a late or replayed
delivery) adds its history point but never rolls the state back. History points and references are
insert-or-ignore on their natural keys, so applying the same records twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, func
from sqlmodel import Session

from service.core.db import execute_rows, upsert_insert
from service.core.models.work import WorkItem, WorkItemReference, WorkItemStatus
from service.core.records import WorkItemRecord, WorkItemReferenceRecord, WorkItemStatusRecord

_STATE = ("kind", "status", "raw_status", "labels")
_FILLED = ("title", "service", "team", "parent", "url")
"""Fields where the newest non-null value wins (a later event may not repeat them, e.g. CDEvents' closed)."""


def apply_work_records(
    session: Session,
    items: Sequence[WorkItemRecord],
    references: Sequence[WorkItemReferenceRecord],
    points: Sequence[WorkItemStatusRecord] = (),
) -> None:
    _upsert_items(session, items)
    _insert_history(session, [*(item for item in items if not item.deleted), *points])
    _insert_references(session, references)


def _upsert_items(session: Session, items: Sequence[WorkItemRecord]) -> None:
    rows = [
        {
            "source": item.source,
            "key": item.key,
            "kind": item.kind,
            "status": item.status,
            "raw_status": item.raw_status,
            "title": item.title,
            "service": item.service,
            "team": item.team,
            "labels": list(item.labels),
            "parent": item.parent,
            "url": item.url,
            "created_at": item.created_at,
            "updated_at": item.changed_at,
            "deleted_at": item.changed_at if item.deleted else None,
        }
        for item in items
    ]
    insert = upsert_insert(session, WorkItem)
    table: Any = WorkItem.__table__  # type: ignore[attr-defined]
    new = insert.excluded
    newer = new.updated_at >= table.c.updated_at
    # A deletion carries no attributes worth keeping: it only marks the row (a newer event restores it).
    keeps_state = and_(newer, new.deleted_at.is_(None))
    set_: dict[str, Any] = {name: case((keeps_state, new[name]), else_=table.c[name]) for name in _STATE}
    for name in _FILLED:
        set_[name] = case((keeps_state, func.coalesce(new[name], table.c[name])), else_=table.c[name])
    set_["deleted_at"] = case((newer, new.deleted_at), else_=table.c.deleted_at)
    set_["created_at"] = case(
        (table.c.created_at.is_(None), new.created_at),
        (new.created_at.is_(None), table.c.created_at),
        (new.created_at < table.c.created_at, new.created_at),
        else_=table.c.created_at,
    )
    set_["updated_at"] = case((newer, new.updated_at), else_=table.c.updated_at)
    statement = insert.on_conflict_do_update(index_elements=["source", "key"], set_=set_)
    execute_rows(session, statement, rows, key=("source", "key"))


def _insert_history(session: Session, items: Sequence[WorkItemRecord | WorkItemStatusRecord]) -> None:
    rows = [
        {
            "source": item.source,
            "key": item.key,
            "status": item.status,
            "raw_status": item.raw_status,
            "changed_at": item.changed_at,
        }
        for item in items
    ]
    statement = upsert_insert(session, WorkItemStatus).on_conflict_do_nothing()
    execute_rows(session, statement, rows, key=("source", "key", "changed_at", "status"))


def _insert_references(session: Session, references: Sequence[WorkItemReferenceRecord]) -> None:
    rows = [
        {"key": r.key[:256], "kind": r.kind, "repository": r.repository[:256], "ref": r.ref[:256], "seen_at": r.seen_at}
        for r in references
    ]
    statement = upsert_insert(session, WorkItemReference).on_conflict_do_nothing()
    execute_rows(session, statement, rows, key=("key", "kind", "repository", "ref"))
