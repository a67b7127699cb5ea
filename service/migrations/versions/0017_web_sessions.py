"""web sessions kept server-side, so signing out ends a session at once (issue 26 #10); an OpenID Connect
sign-in's role is kept with its session (issue 26 #13)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 04:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.core.db import UTCDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id_hash", sa.String(length=64), primary_key=True),
        sa.Column("subject", sa.String(length=160), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
    )
    op.create_index("ix_web_session_subject", "web_session", ["subject"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_web_session_subject", table_name="web_session")
    op.drop_table("web_session")
