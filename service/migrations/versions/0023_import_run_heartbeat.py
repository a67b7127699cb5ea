"""import_run.heartbeat_at: when a running import last showed it was alive, so a run whose worker died is
taken up again instead of staying ``running`` for ever"""

from service.migrations.schema import add_columns, drop_columns, utc

revision: str = "0023"
down_revision: str | None = "0022"


def upgrade() -> None:
    add_columns("import_run", utc("heartbeat_at", nullable=True))


def downgrade() -> None:
    drop_columns("import_run", "heartbeat_at")
