"""lead time from pushes: branches, push order, pull requests, exclusions"""

import sqlalchemy as sa
from alembic import op

from service.migrations.schema import id_key, string, utc

revision: str = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    op.create_table(
        "pull_request",
        id_key(),
        string("repository", 256),
        sa.Column("number", sa.Integer(), nullable=False),
        string("head_branch", 256),
        string("merge_commit_sha", 64, index=True),
        utc("merged_at"),
        sa.UniqueConstraint("repository", "number", name="uq_pull_request_repo_number"),
    )

    # Existing changes without a service get their repository as service (the column becomes required).
    op.execute("UPDATE change SET service = repository WHERE service IS NULL")
    with op.batch_alter_table("change") as batch_op:
        batch_op.add_column(string("branch", 256, nullable=True))
        batch_op.add_column(sa.Column("on_default_branch", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("push_order", sa.BigInteger(), nullable=True))
        batch_op.add_column(string("author", 256, nullable=True))
        batch_op.add_column(string("merged_into", 64, nullable=True))
        batch_op.alter_column("service", existing_type=sa.VARCHAR(length=128), nullable=False)
        batch_op.drop_constraint("uq_change_repo_sha", type_="unique")
        batch_op.create_index("ix_change_merged_into", ["merged_into"])
        batch_op.create_index("ix_change_repo_branch_order", ["repository", "branch", "push_order"])
        batch_op.create_unique_constraint("uq_change_repo_sha_service", ["repository", "sha", "service"])

    with op.batch_alter_table("deployment_change") as batch_op:
        batch_op.add_column(string("excluded", 32, nullable=True))
        batch_op.create_index("ix_deployment_change_change_id", ["change_id"])


def downgrade() -> None:
    with op.batch_alter_table("deployment_change") as batch_op:
        batch_op.drop_index("ix_deployment_change_change_id")
        batch_op.drop_column("excluded")

    with op.batch_alter_table("change") as batch_op:
        batch_op.drop_constraint("uq_change_repo_sha_service", type_="unique")
        batch_op.drop_index("ix_change_repo_branch_order")
        batch_op.drop_index("ix_change_merged_into")
        batch_op.create_unique_constraint("uq_change_repo_sha", ["repository", "sha"])
        batch_op.alter_column("service", existing_type=sa.VARCHAR(length=128), nullable=True)
        for name in ("merged_into", "author", "push_order", "on_default_branch", "branch"):
            batch_op.drop_column(name)

    op.drop_table("pull_request")
