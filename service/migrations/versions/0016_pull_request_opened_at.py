"""when a pull/merge request was opened: the boundary between the coding and review stages of lead time"""

from service.migrations.schema import add_columns, drop_columns, utc

revision: str = "0016"
down_revision: str | None = "0015"


def upgrade() -> None:
    add_columns("pull_request", utc("opened_at", nullable=True))


def downgrade() -> None:
    drop_columns("pull_request", "opened_at")
