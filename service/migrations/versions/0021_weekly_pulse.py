"""the weekly Slack pulse: members who opted in, the questions asked, the answers

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.core.db import UTCDateTime

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pulse_member",
        sa.Column("slack_user", sa.String(length=32), primary_key=True),
        sa.Column("opted_in", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=True),
        sa.Column("changed_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "pulse_question",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("slack_user", sa.String(length=32), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=True),
        sa.Column("asked_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("week", "slack_user", name="uq_pulse_question"),
    )
    op.create_index("ix_pulse_question_week", "pulse_question", ["week"])
    op.create_table(
        "pulse_answer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("respondent", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=True),
        sa.Column("bucket", sa.String(length=8), nullable=False),
        sa.Column("about", sa.Text(), nullable=True),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("week", "respondent", name="uq_pulse_answer"),
    )
    op.create_index("ix_pulse_answer_week", "pulse_answer", ["week"])


def downgrade() -> None:
    op.drop_index("ix_pulse_answer_week", table_name="pulse_answer")
    op.drop_table("pulse_answer")
    op.drop_index("ix_pulse_question_week", table_name="pulse_question")
    op.drop_table("pulse_question")
    op.drop_table("pulse_member")
