"""cost_line.details: what a FOCUS line's rows described themselves as, for the GPU rule read at query time"""

import sqlalchemy as sa
from alembic import op

from service.migrations.schema import drop_columns

revision: str = "0022"
down_revision: str | None = "0021"


def upgrade() -> None:
    op.add_column("cost_line", sa.Column("details", sa.JSON(), nullable=True))


def downgrade() -> None:
    drop_columns("cost_line", "details")
