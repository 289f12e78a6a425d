"""the audit log is append-only: UPDATE, DELETE and TRUNCATE are refused, as in every
service's database

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 02:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

from kit.migrations import make_append_only

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    make_append_only("audit_log")


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION refuse_audit_change()")
