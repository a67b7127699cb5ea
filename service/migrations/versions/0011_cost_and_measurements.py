"""Cost lines (FOCUS, OpenCost, generic), measurements (GPU/CPU utilisation, cold starts, any metric), imports, weekly cost rollups

Revision ID: 0011
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.core.db import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cost_import",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("filename", sa.String(length=512), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("billing_periods", sa.String(length=2048), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_cost_import_sha256", "cost_import", ["sha256"])
    op.create_table(
        "cost_line",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=512), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=True),
        sa.Column("platform", sa.String(length=64), nullable=True),
        sa.Column("platform_tagged", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("resource", sa.String(length=512), nullable=True),
        sa.Column("period_start", UTCDateTime(), nullable=False),
        sa.Column("period_end", UTCDateTime(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("provider", sa.String(length=128), nullable=True),
        sa.Column("billing_period_start", UTCDateTime(), nullable=True),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("cost_import.id", ondelete="SET NULL"), nullable=True),
        sa.UniqueConstraint("source", "external_id", name="uq_cost_line_source_external"),
    )
    op.create_index("ix_cost_line_service", "cost_line", ["service"])
    op.create_index("ix_cost_line_period", "cost_line", ["period_start"])
    op.create_index("ix_cost_line_billing", "cost_line", ["source", "provider", "billing_period_start"])
    op.create_table(
        "measurement",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=512), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=True),
        sa.Column("platform", sa.String(length=64), nullable=True),
        sa.Column("platform_tagged", sa.String(length=64), nullable=True),
        sa.Column("metric", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("period_start", UTCDateTime(), nullable=False),
        sa.Column("period_end", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("source", "external_id", name="uq_measurement_source_external"),
    )
    op.create_index("ix_measurement_service", "measurement", ["service"])
    op.create_index("ix_measurement_metric_start", "measurement", ["metric", "period_start"])
    op.create_table(
        "weekly_cost_rollup",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("week_start", UTCDateTime(), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=False),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("billed_cost", sa.Float(), nullable=False),
        sa.Column("billed_lines", sa.Integer(), nullable=False),
        sa.Column("estimate_cost", sa.Float(), nullable=False),
        sa.Column("estimate_lines", sa.Integer(), nullable=False),
        sa.Column("gpu_cost_billed", sa.Float(), nullable=True),
        sa.Column("gpu_cost_estimate", sa.Float(), nullable=True),
        sa.Column("gpu_hours_provisioned", sa.Float(), nullable=True),
        sa.Column("gpu_hours_used", sa.Float(), nullable=True),
        sa.Column("cpu_weighted", sa.Float(), nullable=True),
        sa.Column("cpu_hours", sa.Float(), nullable=True),
        sa.Column("cold_start_seconds", sa.JSON(), nullable=False),
        sa.UniqueConstraint("timezone", "week", "service", "platform", name="uq_cost_rollup_key"),
    )
    op.create_index("ix_weekly_cost_rollup_week", "weekly_cost_rollup", ["week"])
    op.create_index("ix_weekly_cost_rollup_week_start", "weekly_cost_rollup", ["week_start"])


def downgrade() -> None:
    op.drop_table("weekly_cost_rollup")
    op.drop_table("measurement")
    op.drop_table("cost_line")
    op.drop_table("cost_import")
