"""history imports: a checkpoint per (source, scope) and the runs asked for through the API; when a
criteria change was really decided (backdated migrations)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 04:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.core.db import UTCDateTime

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_checkpoint",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("since", UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", UTCDateTime(timezone=True), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("covered_since", UTCDateTime(timezone=True), nullable=True),
        sa.Column("covered_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source", "scope", name="uq_import_checkpoint_scope"),
    )
    op.create_table(
        "import_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
    )

    with op.batch_alter_table("criteria_change") as batch:
        batch.add_column(sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("decided_ref", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("criteria_change") as batch:
        batch.drop_column("decided_ref")
        batch.drop_column("decided_at")
    op.drop_table("import_run")
    op.drop_table("import_checkpoint")
