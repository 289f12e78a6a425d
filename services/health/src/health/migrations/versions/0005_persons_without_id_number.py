"""persons without an ID number

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 22:40:00

Registry events no longer carry the masked ID number (with the birth date beside it, it
gave the full number back), only whether the person has one: a newborn or a person whose
户口 is pending has none, which the NOT NULL column made health refuse (the household's
events were dead-lettered). Every person stored so far had a number.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "persons",
        sa.Column("has_id_number", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.drop_column("persons", "id_number_masked")


def downgrade() -> None:
    # The numbers are gone; a person without one gets an empty mask.
    op.add_column(
        "persons",
        sa.Column(
            "id_number_masked", sa.String(length=18), server_default=sa.text("''"), nullable=False
        ),
    )
    op.alter_column("persons", "id_number_masked", server_default=None)
    op.drop_column("persons", "has_id_number")
