"""lead time from pushes: branches, push order, pull requests, exclusions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 11:05:59.115587
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.core.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pull_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repository", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("head_branch", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("merge_commit_sha", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("merged_at", service.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repository", "number", name="uq_pull_request_repo_number"),
    )
    with op.batch_alter_table("pull_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pull_request_merge_commit_sha"), ["merge_commit_sha"], unique=False)

    # Existing changes without a service get their repository as service (the column becomes required).
    op.execute("UPDATE change SET service = repository WHERE service IS NULL")
    with op.batch_alter_table("change", schema=None) as batch_op:
        batch_op.add_column(sa.Column("branch", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True))
        batch_op.add_column(sa.Column("on_default_branch", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("push_order", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True))
        batch_op.add_column(sa.Column("merged_into", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.alter_column("service", existing_type=sa.VARCHAR(length=128), nullable=False)
        batch_op.drop_constraint(batch_op.f("uq_change_repo_sha"), type_="unique")
        batch_op.create_index(batch_op.f("ix_change_merged_into"), ["merged_into"], unique=False)
        batch_op.create_index("ix_change_repo_branch_order", ["repository", "branch", "push_order"], unique=False)
        batch_op.create_unique_constraint("uq_change_repo_sha_service", ["repository", "sha", "service"])

    with op.batch_alter_table("deployment_change", schema=None) as batch_op:
        batch_op.add_column(sa.Column("excluded", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_deployment_change_change_id"), ["change_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deployment_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployment_change_change_id"))
        batch_op.drop_column("excluded")

    with op.batch_alter_table("change", schema=None) as batch_op:
        batch_op.drop_constraint("uq_change_repo_sha_service", type_="unique")
        batch_op.drop_index("ix_change_repo_branch_order")
        batch_op.drop_index(batch_op.f("ix_change_merged_into"))
        batch_op.create_unique_constraint(batch_op.f("uq_change_repo_sha"), ["repository", "sha"])
        batch_op.alter_column("service", existing_type=sa.VARCHAR(length=128), nullable=True)
        batch_op.drop_column("merged_into")
        batch_op.drop_column("author")
        batch_op.drop_column("push_order")
        batch_op.drop_column("on_default_branch")
        batch_op.drop_column("branch")

    with op.batch_alter_table("pull_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pull_request_merge_commit_sha"))

    op.drop_table("pull_request")
