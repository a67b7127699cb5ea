"""Two FOCUS imports of the same billing period at once (an upload whose client gave up while the server went
on, then the corrected bill) replace the period one after the other: the period ends as the last one says,
never as both added up. On PostgreSQL, where a DELETE does not see another transaction's uncommitted lines."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from service.core.db import get_engine, session_scope
from service.core.models.cost import CostLine
from service.ingest import cost_import
from tests.focus_files import Charge, write_csv
from tests.helpers import make_settings

OCTOBER = [datetime(2026, 10, 5, tzinfo=UTC) + timedelta(days=i) for i in range(3)]


def test_two_imports_of_one_period_at_once_leave_the_last_ones_lines(
    pg_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(pg_database_url, tmp_path)
    first = write_csv(tmp_path / "first.csv", [Charge(day, 100.0, tags={"service": "ml-api"}) for day in OCTOBER])
    reallocated = [Charge(day, 80.0, tags={"service": "search"}) for day in OCTOBER]
    corrected = write_csv(tmp_path / "corrected.csv", reallocated)
    first_about_to_commit, let_first_commit = threading.Event(), threading.Event()
    mark_dirty = cost_import.mark_dirty  # type: ignore[attr-defined]

    def held_before_commit(*args: Any, **kwargs: Any) -> None:
        mark_dirty(*args, **kwargs)
        if threading.current_thread().name == "first":
            first_about_to_commit.set()
            let_first_commit.wait(10)

    monkeypatch.setattr(cost_import, "mark_dirty", held_before_commit)

    def run(path: Path) -> None:
        with session_scope(pg_database_url, write=True) as session:
            cost_import.import_focus(session, settings, path)

    importing = threading.Thread(target=run, args=(first,), name="first")
    importing.start()
    assert first_about_to_commit.wait(10)
    correcting = threading.Thread(target=run, args=(corrected,), name="corrected")
    correcting.start()
    time.sleep(0.5)  # the corrected bill, meanwhile: replaced what it could see, or waits its turn
    let_first_commit.set()
    importing.join(10)
    correcting.join(10)
    with Session(get_engine(pg_database_url)) as session:
        amounts = session.exec(select(CostLine.amount)).all()
    assert sorted(amounts) == [80.0] * 3  # the first bill's lines are gone, not kept beside the corrected ones
