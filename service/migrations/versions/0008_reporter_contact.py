"""API reporters are contacts, not Slack users; an outbox for Slack messages that could not be sent

Revision ID: 0008
Revises: 0007

A reporter named over the API was stored as ``reporter`` and then DMed as if it were a Slack user id
(``"C0GENERAL"`` posted into a channel). It moves to ``contact``; ``reporter`` keeps only Slack user ids
that came from Slack itself (source ``slack``). Row counts do not change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.core.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("friction_report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.execute("UPDATE friction_report SET contact = reporter, reporter = NULL WHERE source <> 'slack'")
    op.create_table(
        "slack_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", service.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", service.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_slack_outbox_channel"), "slack_outbox", ["channel"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_slack_outbox_channel"), table_name="slack_outbox")
    op.drop_table("slack_outbox")
    op.execute("UPDATE friction_report SET reporter = contact WHERE reporter IS NULL AND contact IS NOT NULL")
    with op.batch_alter_table("friction_report", schema=None) as batch_op:
        batch_op.drop_column("contact")
