"""the weekly Slack pulse: members who opted in, the questions asked, the answers"""

import sqlalchemy as sa
from alembic import op

from service.migrations.schema import id_key, string, utc

revision: str = "0021"
down_revision: str | None = "0020"


def upgrade() -> None:
    op.create_table(
        "pulse_member",
        sa.Column("slack_user", sa.String(length=32), primary_key=True),
        sa.Column("opted_in", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        string("service", 128, nullable=True),
        utc("changed_at"),
    )
    op.create_table(
        "pulse_question",
        id_key(),
        string("week", 10, index=True),
        string("slack_user", 32),
        string("service", 128, nullable=True),
        utc("asked_at"),
        utc("reminded_at", nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("week", "slack_user", name="uq_pulse_question"),
    )
    op.create_table(
        "pulse_answer",
        id_key(),
        string("week", 10, index=True),
        string("respondent", 64),
        string("service", 128, nullable=True),
        string("bucket", 8),
        sa.Column("about", sa.Text(), nullable=True),
        utc("answered_at"),
        sa.UniqueConstraint("week", "respondent", name="uq_pulse_answer"),
    )


def downgrade() -> None:
    op.drop_table("pulse_answer")
    op.drop_table("pulse_question")
    op.drop_table("pulse_member")
