"""education: dropout cases (劝返, 控辍保学), at most one open a student, and their visits

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dropout_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("student_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column(
            "responsible_person", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False
        ),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
        sa.Column("evidence", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("visits", sa.Integer(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "dropout_cases_one_open",
        "dropout_cases",
        ["student_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(
        op.f("ix_dropout_cases_household_id"), "dropout_cases", ["household_id"], unique=False
    )
    op.create_index(
        op.f("ix_dropout_cases_region_code"), "dropout_cases", ["region_code"], unique=False
    )
    op.create_index(
        op.f("ix_dropout_cases_student_id"), "dropout_cases", ["student_id"], unique=False
    )
    op.create_table(
        "case_visits",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("visited_by", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("next_step", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["dropout_cases.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_case_visits_case_id"), "case_visits", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_case_visits_case_id"), table_name="case_visits")
    op.drop_table("case_visits")
    op.drop_index(op.f("ix_dropout_cases_student_id"), table_name="dropout_cases")
    op.drop_index(op.f("ix_dropout_cases_region_code"), table_name="dropout_cases")
    op.drop_index(op.f("ix_dropout_cases_household_id"), table_name="dropout_cases")
    op.drop_index(
        "dropout_cases_one_open",
        table_name="dropout_cases",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_table("dropout_cases")
