"""import jobs: spreadsheet imports running in the background (POST /imports, 202);
a pattern index for region subtree filters of the household list

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-22 16:06:38.966510
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("persons_total", sa.Integer(), nullable=True),
        sa.Column("persons_done", sa.Integer(), nullable=False),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
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
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_import_jobs_region_code"), "import_jobs", ["region_code"], unique=False
    )
    # region subtree filters of the household list (LIKE 'prefix%') at county scale
    op.create_index(
        "ix_households_region_pattern",
        "households",
        ["region_code"],
        postgresql_ops={"region_code": "varchar_pattern_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_households_region_pattern", table_name="households")
    op.drop_index(op.f("ix_import_jobs_region_code"), table_name="import_jobs")
    op.drop_table("import_jobs")
