"""work items, their status history and references; incident category (issue 15)"""

import sqlalchemy as sa
from alembic import op

from service.migrations.schema import add_columns, drop_columns, id_key, string, utc

revision: str = "0012"
down_revision: str | None = "0011"


def upgrade() -> None:
    op.create_table(
        "work_item",
        id_key(),
        string("source", 32),
        string("key", 256, index=True),
        string("kind", 16, index=True),
        string("status", 16),
        string("raw_status", 128, nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        string("service", 128, nullable=True, index=True),
        string("team", 128, nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        string("parent", 256, nullable=True, index=True),
        string("url", 1024, nullable=True),
        utc("created_at", nullable=True),
        utc("updated_at"),
        utc("deleted_at", nullable=True),
        sa.UniqueConstraint("source", "key", name="uq_work_item_source_key"),
    )
    op.create_table(
        "work_item_reference",
        id_key(),
        string("key", 256, index=True),
        string("kind", 16),
        string("repository", 256),
        string("ref", 256),
        utc("seen_at", nullable=True),
        sa.UniqueConstraint("key", "kind", "repository", "ref", name="uq_work_item_reference"),
    )
    op.create_table(
        "work_item_status",
        id_key(),
        string("source", 32),
        string("key", 256),
        string("status", 16),
        string("raw_status", 128, nullable=True),
        utc("changed_at"),
        sa.UniqueConstraint("source", "key", "changed_at", "status", name="uq_work_item_status_point"),
        sa.Index("ix_work_item_status_item", "source", "key"),
    )
    add_columns(
        "incident",
        string("category", 16, nullable=True),
        string("category_source", 16, nullable=True),
        sa.Column("category_evidence", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )


def downgrade() -> None:
    drop_columns("incident", "category_evidence", "category_source", "category")
    op.drop_table("work_item_status")
    op.drop_table("work_item_reference")
    op.drop_table("work_item")
