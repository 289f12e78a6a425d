"""education schema: the audit log (append-only), the outbox

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

from alembic import op

from kit.migrations import create_audit_table, create_outbox_table, make_append_only

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_table()
    make_append_only("audit_log")
    create_outbox_table()


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("audit_log")
    op.execute("DROP FUNCTION IF EXISTS refuse_audit_change()")
