"""The migration step that gives a new service its ``persons`` table, as
:class:`persons.RegistryPerson` defines it (health's own migrations created its table
before this library existed, and stay as they are)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from persons.model import PERSONS_TABLE


def create_persons_table() -> None:
    """Call from the ``upgrade()`` of a service's migration (its first, usually)."""
    op.create_table(
        PERSONS_TABLE,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("has_id_number", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("poverty_state", sa.String(length=24), nullable=False),
        sa.Column("assistance_type", sa.String(length=16), nullable=False),
        sa.Column("policy_continuity_until", sa.Date(), nullable=True),
        sa.Column("disability_level", sa.Integer(), nullable=True),
        sa.Column("in_household", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f(f"ix_{PERSONS_TABLE}_household_id"), PERSONS_TABLE, ["household_id"])
    op.create_index(op.f(f"ix_{PERSONS_TABLE}_region_code"), PERSONS_TABLE, ["region_code"])
