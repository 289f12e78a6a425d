"""natural keys of cases, certificates and contracts as constraints

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 23:40:00

The services check these rules with a read before the insert (under a lock); the
database now states them too, so that a create which slips past the check (another code
path, a lock taken differently) is refused with the same 409 (health/conflicts.py):

- one open 专项救治 case a patient and disease (identified, treating or referred);
- one active 门诊慢性病 certificate a person and disease on any day (inclusive periods);
- one family-doctor contract a person on any day, an ended one up to its end.

The two period rules are exclusion constraints: equality on the person (and disease)
needs btree_gist, a trusted extension that a database owner may create.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_CASE = sa.text("status IN ('identified', 'treating', 'referred')")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_index(
        "uq_critical_cases_open_person_disease",
        "critical_cases",
        ["person_id", "disease_code"],
        unique=True,
        postgresql_where=OPEN_CASE,
    )
    op.execute(
        "ALTER TABLE chronic_certificates ADD CONSTRAINT ex_chronic_certificates_active_period "
        "EXCLUDE USING gist (person_id WITH =, disease_code WITH =, "
        "daterange(issued_on, valid_until, '[]') WITH &&) WHERE (status = 'active')"
    )
    op.execute(
        "ALTER TABLE doctor_contracts ADD CONSTRAINT ex_doctor_contracts_period "
        "EXCLUDE USING gist (person_id WITH =, "
        "daterange(signed_on, coalesce(ended_on, valid_until), '[]') WITH &&)"
    )


def downgrade() -> None:
    op.drop_constraint("ex_doctor_contracts_period", "doctor_contracts")
    op.drop_constraint("ex_chronic_certificates_active_period", "chronic_certificates")
    op.drop_index(
        "uq_critical_cases_open_person_disease",
        table_name="critical_cases",
        postgresql_where=OPEN_CASE,
    )
    # btree_gist stays: other objects may use it by now.
