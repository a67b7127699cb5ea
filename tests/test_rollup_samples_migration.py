"""Migration 0014 converts stored rollup samples from JSON text to binary doubles in place, and back, on
SQLite and PostgreSQL: the same values in the same order, every other column untouched, and the
rollup read serving them as arrays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from alembic import command
from sqlalchemy import text
from sqlmodel import Session

from service.core.db import get_engine
from service.figures import rollups_db
from service.figures.filters import Filters
from service.migrations import alembic_config, upgrade
from tests.helpers import make_settings

LEAD = [0.5, 60.0, 3600.25, 86400.0, 1e9 + 0.125]
RESTORE: list[float] = []


def _rows(url: str) -> list[tuple[object, ...]]:
    with get_engine(url).connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT timezone, week, service, platform, deployments, completed, failed, deploy_days_mask,"
                    " incidents, friction, friction_minutes FROM weekly_rollup ORDER BY id"
                )
            )
        ]


def test_stored_samples_survive_the_move_to_binary_and_back(empty_url: str, tmp_path: Path) -> None:
    upgrade(empty_url, "0013")
    with get_engine(empty_url).begin() as connection:
        connection.execute(
            text("INSERT INTO service (slug, team, tier, created_at) VALUES ('ledger', 'payments', '2', :at)"),
            {"at": "2026-11-02 00:00:00"},
        )
        connection.execute(
            text("INSERT INTO rollup_state (timezone, built_at) VALUES ('UTC', :at)"), {"at": "2026-11-30 00:00:00"}
        )
        for week, start, lead in (("2026-W45", "2026-11-02", LEAD), ("2026-W46", "2026-11-09", [42.0])):
            connection.execute(
                text(
                    "INSERT INTO weekly_rollup (timezone, week, week_start, service, platform, deployments, completed,"
                    " failed, deploy_days_mask, lead_seconds, incidents, restore_seconds, friction, friction_minutes)"
                    " VALUES ('UTC', :week, :start, 'ledger', 'legacy', 5, 6, 1, 3, :lead, 0, :restore, 2, 30)"
                ),
                {"week": week, "start": f"{start} 00:00:00", "lead": str(lead), "restore": str(RESTORE)},
            )
    before = _rows(empty_url)

    upgrade(empty_url, "0014")  # this migration alone (0015 drops the rollups to rebuild them)

    assert _rows(empty_url) == before
    settings = make_settings(empty_url, tmp_path)
    with Session(get_engine(empty_url)) as session:
        read = rollups_db.read(session, settings, Filters(), None, None)
    assert read is not None
    by_week = {row.week: row for row in read.itertuples()}
    lead_w45, lead_w46 = by_week["2026-W45"].lead_seconds, by_week["2026-W46"].lead_seconds
    restore_w45 = by_week["2026-W45"].restore_seconds
    # Samples columns read back as numpy arrays (service.core.db.Samples).
    assert isinstance(lead_w45, np.ndarray)
    assert isinstance(lead_w46, np.ndarray)
    assert isinstance(restore_w45, np.ndarray)
    assert lead_w45.dtype == np.float64
    assert lead_w45.tolist() == LEAD
    assert lead_w46.tolist() == [42.0]
    assert restore_w45.tolist() == RESTORE

    command.downgrade(alembic_config(empty_url), "0013")

    assert _rows(empty_url) == before
    with get_engine(empty_url).connect() as connection:
        stored = connection.execute(text("SELECT lead_seconds FROM weekly_rollup ORDER BY id")).scalars().all()
    decoded = [value if isinstance(value, list) else json.loads(value) for value in stored]
    assert decoded == [LEAD, [42.0]]
