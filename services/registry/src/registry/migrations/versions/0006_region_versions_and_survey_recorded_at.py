"""region versions (the sequence of registry.region.updated); when a household's latest
survey was recorded (the as_of of the registry's dimensions)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 19:26:30.791131
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing surveys keep no time: their dimensions carry no as_of rather than a guess.
    op.add_column(
        "households", sa.Column("survey_recorded_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "regions", sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("regions", "version")
    op.drop_column("households", "survey_recorded_at")
