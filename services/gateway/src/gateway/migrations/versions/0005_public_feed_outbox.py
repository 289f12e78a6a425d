"""outbox of the public event feed

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 22:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

from kit.migrations import create_outbox_table

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_table()


def downgrade() -> None:
    op.drop_table("outbox")
