"""``service.core.db.fetch_rows`` gives the rows SQLAlchemy would give, on both backends: on PostgreSQL it
reads psycopg's binary rows itself and decodes the two types of ours that need it (samples, UTC
datetimes), and leaves any statement it cannot read that way to SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from service.core.db import fetch_rows, get_engine
from service.core.models import ApiToken, Service, WeeklyRollup

START = datetime(2026, 11, 2, tzinfo=UTC)


def _store(url: str) -> None:
    with Session(get_engine(url)) as session:
        session.add(Service(slug="ledger", team="payments", created_at=START))
        for week, lead in enumerate(([], [1.5, 60.0, 3600.25], [1e9 + 0.125])):
            session.add(
                WeeklyRollup(
                    timezone="Europe/Berlin",
                    week=f"2026-W{45 + week}",
                    week_start=START + timedelta(weeks=week),
                    service="ledger",
                    platform="legacy" if week < 2 else "",
                    deployments=week,
                    deploy_days_mask=2**week,
                    lead_seconds=lead,
                    restore_seconds=[float(week)],
                )
            )
        session.add(ApiToken(name="t", token_hash="h" * 64, scopes=["read", "ingest"], created_at=START))
        session.commit()


def _plain(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Rows with arrays as lists, to compare; every datetime must be in UTC already."""
    out = []
    for row in rows:
        for value in row:
            if isinstance(value, datetime):
                assert value.tzinfo is not None
                assert value.utcoffset() == timedelta(0)
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float64
        out.append(tuple(v.tolist() if isinstance(v, np.ndarray) else v for v in row))
    return out


def test_rows_are_those_sqlalchemy_gives(database_url: str) -> None:
    _store(database_url)
    table = WeeklyRollup.__table__  # type: ignore[attr-defined]
    statements = [
        sa_select(table, col(Service.team))
        .join(Service, col(Service.slug) == table.c.service)
        .where(table.c.week_start >= datetime(2026, 11, 9, 1, tzinfo=timezone(timedelta(hours=2))))
        .order_by(table.c.week_start),
        sa_select(table.c.week, table.c.lead_seconds).where(table.c.week.in_(["2026-W45", "2026-W47"])),  # expanded
        sa_select(ApiToken.__table__.c.scopes),  # type: ignore[attr-defined]  # JSON: SQLAlchemy decodes it
    ]
    with Session(get_engine(database_url)) as session:
        if session.connection().dialect.name == "postgresql":  # psycopg then gives datetimes at -05:00/-04:00
            session.connection().exec_driver_sql("SET LOCAL TIME ZONE 'America/New_York'")  # this transaction only
        for statement in statements:
            expected = [tuple(row) for row in session.connection().execute(statement)]
            assert _plain(fetch_rows(session, statement)) == _plain(expected)
        rows = fetch_rows(session, statements[0])
    at = table.c.keys().index
    assert [row[at("week_start")] for row in rows] == [START + timedelta(weeks=1), START + timedelta(weeks=2)]
    assert [row[at("lead_seconds")].tolist() for row in rows] == [[1.5, 60.0, 3600.25], [1e9 + 0.125]]
    assert [row[-1] for row in rows] == ["payments", "payments"]


def test_objects_added_and_not_flushed_are_seen_as_by_session_exec(database_url: str) -> None:
    statement = sa_select(col(Service.slug), col(Service.team))
    with Session(get_engine(database_url)) as session:
        session.add(Service(slug="ledger", team="payments", created_at=START))
        assert fetch_rows(session, statement) == [("ledger", "payments")]
        with session.no_autoflush:
            session.add(Service(slug="wallet", team="payments", created_at=START))
            assert fetch_rows(session, statement) == [("ledger", "payments")]
