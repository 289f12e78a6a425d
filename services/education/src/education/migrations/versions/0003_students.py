"""education: students (学籍), one record a registry person

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "students",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("school_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("boarding", sa.Boolean(), nullable=False),
        sa.Column("enrolment_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status_since", sa.Date(), nullable=False),
        sa.Column(
            "responsible_teacher", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id"),
    )
    op.create_index(op.f("ix_students_household_id"), "students", ["household_id"], unique=False)
    op.create_index(op.f("ix_students_region_code"), "students", ["region_code"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_students_region_code"), table_name="students")
    op.drop_index(op.f("ix_students_household_id"), table_name="students")
    op.drop_table("students")
