"""the audit log refuses TRUNCATE too (a statement-level trigger), as every service's does

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 02:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

from kit.migrations import make_append_only

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    make_append_only("audit_log")


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
