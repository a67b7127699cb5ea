"""The columns and steps the migration versions share, so that a version says only what is its own: which
table gets which columns, of which type and length, required or not, indexed or not.

Applied versions call these functions, so what each one makes must never change: a new need is a new
function. tests/test_migration_steps.py walks every version up and down on SQLite and PostgreSQL and
compares the head with the models.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from service.core.db import UTCDateTime


def id_key() -> sa.Column[Any]:
    """The table's ``id``: an integer primary key the database numbers (``SERIAL`` on PostgreSQL)."""
    return sa.Column("id", sa.Integer(), primary_key=True)


def string(name: str, length: int, *, nullable: bool = False, index: bool = False) -> sa.Column[Any]:
    """A ``VARCHAR(length)``, required unless ``nullable``; ``index`` makes ``ix_<table>_<name>``."""
    return sa.Column(name, sa.String(length=length), nullable=nullable, index=index)


def utc(name: str, *, nullable: bool = False, index: bool = False) -> sa.Column[Any]:
    """A moment, ``TIMESTAMP WITH TIME ZONE`` (stored as UTC, naive on SQLite: ``UTCDateTime``), required
    unless ``nullable``; ``index`` makes ``ix_<table>_<name>``."""
    return sa.Column(name, UTCDateTime(), nullable=nullable, index=index)


def add_columns(table: str, *columns: sa.Column[Any]) -> None:
    """New columns on an existing table, in one batch (SQLite rebuilds a table it cannot alter)."""
    with op.batch_alter_table(table) as batch:
        for column in columns:
            batch.add_column(column)


def drop_columns(table: str, *names: str) -> None:
    """The columns named dropped from a table, in one batch (one rebuild on SQLite)."""
    with op.batch_alter_table(table) as batch:
        for name in names:
            batch.drop_column(name)


def weekly_rollup_key() -> tuple[sa.Column[Any], ...]:
    """The columns that place a row of a weekly rollup (``weekly_rollup``, ``weekly_cost_rollup``): its
    ``id``; the ``timezone`` its weeks are cut in; the ``week`` (ISO label) and its first moment, both
    indexed; the ``service`` and ``platform`` it sums."""
    return (
        id_key(),
        string("timezone", 64),
        string("week", 10, index=True),
        utc("week_start", index=True),
        string("service", 128),
        string("platform", 64),
    )
