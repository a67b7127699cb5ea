"""API reporters are contacts, not Slack users; an outbox for Slack messages that could not be sent

A reporter named over the API was stored as ``reporter`` and then DMed as if it were a Slack user id
(``"C0GENERAL"`` posted into a channel). It moves to ``contact``; ``reporter`` keeps only Slack user ids
that came from Slack itself (source ``slack``). Row counts do not change.
"""

import sqlalchemy as sa
from alembic import op

from service.migrations.schema import add_columns, drop_columns, id_key, string, utc

revision: str = "0008"
down_revision: str | None = "0007"


def upgrade() -> None:
    add_columns("friction_report", string("contact", 64, nullable=True))
    op.execute("UPDATE friction_report SET contact = reporter, reporter = NULL WHERE source <> 'slack'")
    op.create_table(
        "slack_outbox",
        id_key(),
        string("channel", 64, index=True),
        sa.Column("text", sa.Text(), nullable=False),
        utc("created_at"),
        utc("sent_at", nullable=True),
    )


def downgrade() -> None:
    op.drop_table("slack_outbox")
    op.execute("UPDATE friction_report SET reporter = contact WHERE reporter IS NULL AND contact IS NOT NULL")
    drop_columns("friction_report", "contact")
