"""The scorecard's assumptions as admins set them (the net line's loaded hourly cost and the rest)"""

import sqlalchemy as sa
from alembic import op

from service.migrations.schema import string, utc

revision: str = "0020"
down_revision: str | None = "0019"


def upgrade() -> None:
    op.create_table(
        "scorecard_assumption",
        string("key", 64),
        sa.Column("value", sa.Float(), nullable=False),
        string("changed_by", 128),
        utc("changed_at"),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("scorecard_assumption")
