"""an index on deployment.finished_at: a week of every service's deployments without a table scan"""

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"


def upgrade() -> None:
    op.create_index("ix_deployment_finished", "deployment", ["finished_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_deployment_finished", table_name="deployment")
