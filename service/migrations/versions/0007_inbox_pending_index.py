"""A partial index for claiming pending inbox rows in id order"""

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"


def upgrade() -> None:
    op.create_index(
        "ix_inbox_pending_id",
        "inbox_event",
        ["id"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_pending_id", table_name="inbox_event")
