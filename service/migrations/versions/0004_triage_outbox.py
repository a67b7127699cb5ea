"""triage channel outbox"""

from alembic import op

from service.migrations.schema import add_columns, drop_columns, utc

revision: str = "0004"
down_revision: str | None = "0003"


def upgrade() -> None:
    add_columns("friction_report", utc("triage_posted_at", nullable=True))
    # Reports from before the outbox existed count as handled: no flood of old reports or old resolutions.
    op.execute("UPDATE friction_report SET triage_posted_at = created_at")
    op.execute(
        "UPDATE friction_report SET notified_at = resolved_at "
        "WHERE notified_at IS NULL AND status IN ('resolved', 'wont_fix')"
    )


def downgrade() -> None:
    drop_columns("friction_report", "triage_posted_at")
