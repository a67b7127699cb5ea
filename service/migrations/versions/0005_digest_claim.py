"""digest post claim

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 11:43:17.517198
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.core.db


revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("digest", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", service.core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("digest", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
