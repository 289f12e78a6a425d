"""an index of refused registrations by caller and time: a caller may have 20 refused in a
day (registered already) before every further one is a 429

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 00:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_log_registration_refused",
        "audit_log",
        ["actor", "at"],
        postgresql_where=sa.text("action = 'person.registration_refused'"),
    )


def downgrade() -> None:
    op.drop_index("ix_audit_log_registration_refused", table_name="audit_log")
