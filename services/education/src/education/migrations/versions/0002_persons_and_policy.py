"""education: the registry's persons (read model, with the consumer's inbox and positions)
and the policy parameters' overrides

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

from kit.migrations import create_inbox_tables, create_policy_table
from persons.migration import create_persons_table

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_persons_table()
    create_inbox_tables()
    create_policy_table()


def downgrade() -> None:
    op.drop_table("policy_values")
    op.drop_table("aggregate_positions")
    op.drop_table("inbox")
    op.drop_table("persons")
