"""an index on deployment.finished_at: a week of every service's deployments without a table scan

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 19:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_deployment_finished", "deployment", ["finished_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_deployment_finished", table_name="deployment")
