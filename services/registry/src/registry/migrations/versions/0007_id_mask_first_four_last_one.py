"""resident ID numbers masked as first 4 and last 1 (6229*************X): the last 4 and the
birth date gave the whole number back

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 22:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The stored mask still holds the characters the new one keeps (contracts.resident_id.mask).
    op.execute(
        "UPDATE members SET id_number_masked = "
        "left(id_number_masked, 4) || repeat('*', 13) || right(id_number_masked, 1) "
        "WHERE id_number_masked IS NOT NULL"
    )


def downgrade() -> None:
    pass  # the hidden digits are gone from the mask; the encrypted number still has them
