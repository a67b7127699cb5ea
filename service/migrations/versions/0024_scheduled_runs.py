"""scheduled_run: when embedded mode last ran each weekly entry, so a week missed while it was down runs at
its next start"""

import sqlalchemy as sa
from alembic import op

from service.migrations.schema import utc

revision: str = "0024"
down_revision: str | None = "0023"


def upgrade() -> None:
    op.create_table("scheduled_run", sa.Column("name", sa.String(length=64), primary_key=True), utc("last_run"))


def downgrade() -> None:
    op.drop_table("scheduled_run")
