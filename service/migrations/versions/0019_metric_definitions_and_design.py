"""user-declared metrics (any measurement name judged like the built-in ones); a migration's design"""

import sqlalchemy as sa
from alembic import op

from service.migrations.schema import string, utc

revision: str = "0019"
down_revision: str | None = "0018"


def upgrade() -> None:
    op.create_table(
        "metric_definition",
        sa.Column("name", sa.String(length=64), primary_key=True),
        string("label", 128),
        string("unit", 32),
        sa.Column("higher_is_better", sa.Boolean(), nullable=False),
        string("effect_scale", 16),
        string("defined_by", 128),
        utc("updated_at"),
    )

    op.add_column("migration", sa.Column("design", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("migration", "design")
    op.drop_table("metric_definition")
