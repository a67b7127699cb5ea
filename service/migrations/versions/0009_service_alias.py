"""Catalogue aliases: a renamed or merged service's old names"""

import sqlalchemy as sa
from alembic import op

from service.migrations.schema import string, utc

revision: str = "0009"
down_revision: str | None = "0008"


def upgrade() -> None:
    op.create_table(
        "service_alias",
        string("alias", 128),
        string("service", 128, index=True),
        utc("created_at"),
        sa.ForeignKeyConstraint(["service"], ["service.slug"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("alias"),
    )


def downgrade() -> None:
    op.drop_table("service_alias")
