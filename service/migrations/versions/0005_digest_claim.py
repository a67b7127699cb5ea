"""digest post claim"""

from service.migrations.schema import add_columns, drop_columns, utc

revision: str = "0005"
down_revision: str | None = "0004"


def upgrade() -> None:
    add_columns("digest", utc("claimed_at", nullable=True))


def downgrade() -> None:
    drop_columns("digest", "claimed_at")
