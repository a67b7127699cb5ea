"""history imports: a checkpoint per (source, scope) and the runs asked for through the API; when a
criteria change was really decided (backdated migrations)
"""

import sqlalchemy as sa
from alembic import op

from service.migrations.schema import add_columns, drop_columns, id_key, string, utc

revision: str = "0018"
down_revision: str | None = "0017"


def upgrade() -> None:
    op.create_table(
        "import_checkpoint",
        id_key(),
        string("source", 32),
        string("scope", 300),
        utc("since"),
        utc("until"),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        utc("covered_since", nullable=True),
        utc("covered_until", nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        utc("updated_at"),
        sa.UniqueConstraint("source", "scope", name="uq_import_checkpoint_scope"),
    )
    op.create_table(
        "import_run",
        id_key(),
        string("source", 32),
        sa.Column("request", sa.JSON(), nullable=False),
        string("state", 16),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        string("requested_by", 128),
        utc("created_at"),
        utc("finished_at", nullable=True),
    )
    add_columns("criteria_change", utc("decided_at", nullable=True), string("decided_ref", 500, nullable=True))


def downgrade() -> None:
    drop_columns("criteria_change", "decided_ref", "decided_at")
    op.drop_table("import_run")
    op.drop_table("import_checkpoint")
