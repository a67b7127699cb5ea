"""web sessions kept server-side, so signing out ends a session at once (issue 26 #10); an OpenID Connect
sign-in's role is kept with its session (issue 26 #13)
"""

import sqlalchemy as sa
from alembic import op

from service.migrations.schema import string, utc

revision: str = "0017"
down_revision: str | None = "0016"


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id_hash", sa.String(length=64), primary_key=True),
        string("subject", 160, index=True),
        utc("created_at"),
        utc("expires_at"),
        utc("revoked_at", nullable=True),
        string("role", 16, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("web_session")
