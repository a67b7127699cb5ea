"""initial schema"""

import sqlalchemy as sa
from alembic import op

from service.migrations.schema import id_key, string, utc

revision: str = "0001"
down_revision: str | None = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        id_key(),
        string("name", 128),
        string("token_hash", 64),
        sa.Column("scopes", sa.JSON(), nullable=False),
        utc("created_at"),
        utc("revoked_at", nullable=True),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "change",
        id_key(),
        string("sha", 64, index=True),
        string("repository", 256),
        string("service", 128, nullable=True, index=True),
        utc("committed_at"),
        sa.Column("pr_number", sa.Integer(), nullable=True),
        utc("merged_at", nullable=True),
        sa.UniqueConstraint("repository", "sha", name="uq_change_repo_sha"),
    )
    op.create_table(
        "deployment",
        id_key(),
        string("source", 32),
        string("external_id", 256),
        string("service", 128),
        string("environment", 64),
        string("status", 16),
        string("sha", 64, nullable=True, index=True),
        string("repository", 256, nullable=True),
        string("version", 128, nullable=True),
        utc("started_at", nullable=True),
        utc("finished_at", nullable=True),
        string("platform", 64, nullable=True),
        sa.Column("is_rollback", sa.Boolean(), nullable=False),
        string("rollback_of", 256, nullable=True),
        string("url", 1024, nullable=True),
        sa.UniqueConstraint("source", "external_id", name="uq_deployment_source_external"),
        sa.Index("ix_deployment_service_finished", "service", "finished_at"),
    )
    op.create_table(
        "digest",
        id_key(),
        string("week", 10),
        string("audience", 128),
        string("channel", 64, nullable=True),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        utc("created_at"),
        utc("posted_at", nullable=True),
        string("slack_ts", 32, nullable=True),
        sa.UniqueConstraint("week", "audience", name="uq_digest_week_audience"),
    )
    op.create_table(
        "friction_report",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        string("source", 32),
        string("reporter", 64, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        string("service", 128, nullable=True, index=True),
        string("platform", 64, nullable=True),
        string("category", 64, index=True),
        string("category_source", 8),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("minutes_lost", sa.Integer(), nullable=True),
        sa.Column("impact", sa.Integer(), nullable=True),
        string("frequency", 16, nullable=True),
        sa.Column("blocking", sa.Boolean(), nullable=False),
        string("status", 16, index=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("votes", sa.Integer(), nullable=False),
        string("slack_channel", 32, nullable=True),
        string("slack_ts", 32, nullable=True),
        string("permalink", 1024, nullable=True),
        utc("created_at", index=True),
        utc("resolved_at", nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["duplicate_of"], ["friction_report.id"]),
    )
    op.create_table(
        "inbox_event",
        id_key(),
        string("source", 32),
        string("event_type", 64),
        string("delivery_key", 128),
        utc("received_at", index=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        string("status", 16),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        utc("available_at"),
        utc("processed_at", nullable=True),
        sa.UniqueConstraint("source", "delivery_key", name="uq_inbox_source_delivery"),
        sa.Index("ix_inbox_claim", "status", "available_at"),
    )
    op.create_table(
        "migration",
        id_key(),
        string("name", 128),
        string("from_platform", 64),
        string("to_platform", 64),
        utc("started_at"),
        utc("target_date", nullable=True),
        sa.Column("baseline_weeks", sa.Integer(), nullable=False),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "service",
        string("slug", 128),
        string("team", 128, nullable=True, index=True),
        string("tier", 32, nullable=True),
        utc("created_at"),
        sa.PrimaryKeyConstraint("slug"),
    )
    op.create_table(
        "deployment_change",
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["change_id"], ["change.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployment.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("deployment_id", "change_id"),
    )
    op.create_table(
        "incident",
        id_key(),
        string("source", 32),
        string("external_id", 256),
        string("service", 128, index=True),
        string("status", 16),
        string("severity", 32, nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        utc("started_at"),
        utc("acknowledged_at", nullable=True),
        utc("resolved_at", nullable=True),
        string("platform", 64, nullable=True),
        string("commit_sha", 64, nullable=True),
        string("caused_by_deployment", 256, nullable=True),
        sa.Column("caused_by_deployment_id", sa.Integer(), nullable=True),
        string("link_method", 16, nullable=True),
        string("url", 1024, nullable=True),
        sa.ForeignKeyConstraint(["caused_by_deployment_id"], ["deployment.id"], ondelete="SET NULL"),
        sa.UniqueConstraint("source", "external_id", name="uq_incident_source_external"),
    )
    op.create_table(
        "platform_assignment",
        id_key(),
        string("service", 128, index=True),
        string("platform", 64),
        utc("effective_from"),
        sa.ForeignKeyConstraint(["service"], ["service.slug"], ondelete="CASCADE"),
        sa.UniqueConstraint("service", "effective_from", name="uq_assignment_service_from"),
    )


def downgrade() -> None:
    # In the reverse of the order made, for the foreign keys; a table's indexes go with it.
    for table in (
        "platform_assignment",
        "incident",
        "deployment_change",
        "service",
        "migration",
        "inbox_event",
        "friction_report",
        "digest",
        "deployment",
        "change",
        "api_token",
    ):
        op.drop_table(table)
