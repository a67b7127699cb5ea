"""triage channel outbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 11:29:05.395774
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.core.db


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("friction_report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("triage_posted_at", service.core.db.UTCDateTime(timezone=True), nullable=True))
    # Reports from before the outbox existed count as handled: no flood of old reports or old resolutions.
    op.execute("UPDATE friction_report SET triage_posted_at = created_at")
    op.execute(
        "UPDATE friction_report SET notified_at = resolved_at "
        "WHERE notified_at IS NULL AND status IN ('resolved', 'wont_fix')"
    )


def downgrade() -> None:
    with op.batch_alter_table("friction_report", schema=None) as batch_op:
        batch_op.drop_column("triage_posted_at")
