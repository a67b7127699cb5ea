"""weekly rollup samples as binary doubles, not JSON text

A rollup row keeps every lead and restore sample so medians stay exact when groups merge. As JSON text,
reading a year of them (590,000 lead times for 200 services) spent ~75 ms parsing numbers, half the
rollup read; as little-endian IEEE 754 doubles end to end (``service.core.db.Samples``) they are read as they
are, and take half the space. The stored rows are converted in place, not dropped: the same values, in
the same order.

The encoding is written out here rather than imported, so this migration keeps doing what it did
whatever the application's code becomes.
"""

import json
import sys
from array import array
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"

SAMPLES = ("lead_seconds", "restore_seconds")
CHUNK = 2000


def _pack(values: Any) -> bytes:
    """A JSON list of numbers (text, or already decoded by the driver) → little-endian doubles."""
    numbers = array("d", json.loads(values) if isinstance(values, str | bytes) else values)
    if sys.byteorder == "big":
        numbers.byteswap()
    return numbers.tobytes()


def _unpack(stored: bytes) -> list[float]:
    numbers = array("d")
    numbers.frombytes(stored)
    if sys.byteorder == "big":
        numbers.byteswap()
    return numbers.tolist()


def _convert(new: str, convert: Any, new_type: Any) -> None:
    """Each samples column rewritten through ``convert`` into a column of ``new_type`` (made as
    ``<name>_<new>``, then renamed over the old one)."""
    with op.batch_alter_table("weekly_rollup") as batch:
        for name in SAMPLES:
            batch.add_column(sa.Column(f"{name}_{new}", new_type, nullable=True))
    bind = op.get_bind()
    rollup = sa.table(
        "weekly_rollup",
        sa.column("id", sa.Integer()),
        *(sa.column(name) for name in SAMPLES),
        *(sa.column(f"{name}_{new}", new_type) for name in SAMPLES),
    )
    rows = bind.execute(sa.select(rollup.c.id, *(rollup.c[name] for name in SAMPLES))).all()
    update = (
        sa.update(rollup)
        .where(rollup.c.id == sa.bindparam("row_id"))
        .values({f"{name}_{new}": sa.bindparam(f"v_{name}") for name in SAMPLES})
    )
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        bind.execute(
            update,
            [
                {"row_id": row[0], **{f"v_{name}": convert(row[i + 1]) for i, name in enumerate(SAMPLES)}}
                for row in chunk
            ],
        )
    with op.batch_alter_table("weekly_rollup") as batch:
        for name in SAMPLES:
            batch.drop_column(name)
        for name in SAMPLES:
            batch.alter_column(f"{name}_{new}", new_column_name=name, existing_type=new_type, nullable=False)


def upgrade() -> None:
    _convert("binary", _pack, sa.LargeBinary())


def downgrade() -> None:
    _convert("json", lambda stored: _unpack(bytes(stored)), sa.JSON())
