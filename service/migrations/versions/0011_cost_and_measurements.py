"""Cost lines (FOCUS, OpenCost, generic), measurements (GPU/CPU utilisation, cold starts, any metric), imports, weekly cost rollups"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from service.migrations.schema import id_key, string, utc, weekly_rollup_key

revision: str = "0011"
down_revision: str | None = "0010"


def _sourced_row() -> tuple[sa.Column[Any], ...]:
    """The columns a cost line and a measurement share: the sender's key (``source``, ``external_id``), the
    service, the platform it counts under and the platform the sender tagged."""
    return (
        id_key(),
        string("source", 32),
        string("external_id", 512),
        string("service", 128, nullable=True, index=True),
        string("platform", 64, nullable=True),
        string("platform_tagged", 64, nullable=True),
    )


def upgrade() -> None:
    op.create_table(
        "cost_import",
        id_key(),
        string("filename", 512),
        string("sha256", 64, index=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        string("billing_periods", 2048),
        utc("imported_at"),
    )
    op.create_table(
        "cost_line",
        *_sourced_row(),
        string("category", 64, nullable=True),
        string("resource", 512, nullable=True),
        utc("period_start"),
        utc("period_end"),
        sa.Column("amount", sa.Float(), nullable=False),
        string("currency", 3),
        string("provider", 128, nullable=True),
        utc("billing_period_start", nullable=True),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("cost_import.id", ondelete="SET NULL"), nullable=True),
        sa.UniqueConstraint("source", "external_id", name="uq_cost_line_source_external"),
        sa.Index("ix_cost_line_period", "period_start"),
        sa.Index("ix_cost_line_billing", "source", "provider", "billing_period_start"),
    )
    op.create_table(
        "measurement",
        *_sourced_row(),
        string("metric", 128),
        sa.Column("value", sa.Float(), nullable=False),
        string("unit", 32, nullable=True),
        utc("period_start"),
        utc("period_end"),
        sa.UniqueConstraint("source", "external_id", name="uq_measurement_source_external"),
        sa.Index("ix_measurement_metric_start", "metric", "period_start"),
    )
    op.create_table(
        "weekly_cost_rollup",
        *weekly_rollup_key(),
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


def downgrade() -> None:
    op.drop_table("weekly_cost_rollup")
    op.drop_table("measurement")
    op.drop_table("cost_line")
    op.drop_table("cost_import")
