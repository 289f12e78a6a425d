"""monitoring alerts (防返贫监测): risk_alerts, medical_costs, and the consumer inbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 15:43:04.020170
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "aggregate_positions",
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column(
            "aggregate_key",
            sa.String(length=255),
            nullable=False,
            comment="source#subject of the event",
        ),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("consumer", "aggregate_key"),
    )
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=255), nullable=False),
        sa.Column(
            "outcome", sa.String(length=16), nullable=False, comment="applied | stale | ignored"
        ),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "medical_costs",
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("policy_year", sa.Integer(), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=False),
        sa.Column("out_of_pocket", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("source_event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
        ),
        sa.PrimaryKeyConstraint("claim_id"),
    )
    op.create_index(
        "ix_medical_costs_household_year",
        "medical_costs",
        ["household_id", "policy_year"],
        unique=False,
    )
    op.create_table(
        "risk_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("region_code", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("assessment", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("policy_year", sa.Integer(), nullable=False),
        sa.Column("source_service", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("source_event_type", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("source_event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "evidence", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("raised_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("assessed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assessment_note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("assisted_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("assisted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assistance_note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("closed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closure_note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_risk_alerts_household_id"), "risk_alerts", ["household_id"], unique=False
    )
    op.create_index(
        "ix_risk_alerts_region_status_due",
        "risk_alerts",
        ["region_code", "status", "due_date"],
        unique=False,
    )
    op.create_index(
        "ux_risk_alerts_medical_cost_year",
        "risk_alerts",
        ["household_id", "policy_year"],
        unique=True,
        postgresql_where=sa.text("kind = 'high_medical_cost'"),
    )
    op.create_index(
        "ux_risk_alerts_source_event",
        "risk_alerts",
        ["source_event_id"],
        unique=True,
        postgresql_where=sa.text("source_event_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ux_risk_alerts_source_event",
        table_name="risk_alerts",
        postgresql_where=sa.text("source_event_id IS NOT NULL"),
    )
    op.drop_index(
        "ux_risk_alerts_medical_cost_year",
        table_name="risk_alerts",
        postgresql_where=sa.text("kind = 'high_medical_cost'"),
    )
    op.drop_index("ix_risk_alerts_region_status_due", table_name="risk_alerts")
    op.drop_index(op.f("ix_risk_alerts_household_id"), table_name="risk_alerts")
    op.drop_table("risk_alerts")
    op.drop_index("ix_medical_costs_household_year", table_name="medical_costs")
    op.drop_table("medical_costs")
    op.drop_table("inbox")
    op.drop_table("aggregate_positions")
