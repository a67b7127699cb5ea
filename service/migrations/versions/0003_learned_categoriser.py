"""learned categoriser versions, correction time"""

import sqlalchemy as sa
from alembic import op

from service.migrations.schema import add_columns, drop_columns, id_key, utc

revision: str = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    op.create_table(
        "categoriser_model",
        id_key(),
        utc("trained_at"),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("classes", sa.JSON(), nullable=False),
        sa.Column("cross_validated_accuracy", sa.Float(), nullable=True),
    )
    add_columns("friction_report", utc("corrected_at", nullable=True), utc("notified_at", nullable=True))


def downgrade() -> None:
    drop_columns("friction_report", "notified_at", "corrected_at")
    op.drop_table("categoriser_model")
