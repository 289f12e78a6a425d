"""helpers (帮扶责任人), their assignments and visit logs; regions.total_population

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-22 15:42:28.903816
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "helpers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("rank", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("work_unit", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("region_code", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
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
            ["region_code"],
            ["regions.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_helpers_region_code"), "helpers", ["region_code"], unique=False)
    op.create_table(
        "helper_assignments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("helper_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("end_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("assigned_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("ended_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["helper_id"],
            ["helpers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_helper_assignments_helper",
        "helper_assignments",
        ["helper_id", "end_date"],
        unique=False,
    )
    op.create_index(
        op.f("ix_helper_assignments_household_id"),
        "helper_assignments",
        ["household_id"],
        unique=False,
    )
    op.create_index(
        "ux_helper_assignments_active",
        "helper_assignments",
        ["household_id", "helper_id"],
        unique=True,
        postgresql_where=sa.text("end_date IS NULL"),
    )
    op.create_index(
        "ux_helper_assignments_primary",
        "helper_assignments",
        ["household_id"],
        unique=True,
        postgresql_where=sa.text("role = 'primary' AND end_date IS NULL"),
    )
    op.create_table(
        "helper_visits",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("helper_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["helper_id"],
            ["helpers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_helper_visits_helper_date", "helper_visits", ["helper_id", "visit_date"], unique=False
    )
    op.create_index(
        "ix_helper_visits_household_date",
        "helper_visits",
        ["household_id", "visit_date"],
        unique=False,
    )
    op.add_column("regions", sa.Column("total_population", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("regions", "total_population")
    op.drop_index("ix_helper_visits_household_date", table_name="helper_visits")
    op.drop_index("ix_helper_visits_helper_date", table_name="helper_visits")
    op.drop_table("helper_visits")
    op.drop_index(
        "ux_helper_assignments_primary",
        table_name="helper_assignments",
        postgresql_where=sa.text("role = 'primary' AND end_date IS NULL"),
    )
    op.drop_index(
        "ux_helper_assignments_active",
        table_name="helper_assignments",
        postgresql_where=sa.text("end_date IS NULL"),
    )
    op.drop_index(op.f("ix_helper_assignments_household_id"), table_name="helper_assignments")
    op.drop_index("ix_helper_assignments_helper", table_name="helper_assignments")
    op.drop_table("helper_assignments")
    op.drop_index(op.f("ix_helpers_region_code"), table_name="helpers")
    op.drop_table("helpers")
