"""What each unique constraint of the health database means to a caller: two requests that
create the same thing at once (a hospital retrying a timed-out claim) both pass the
service's own check, and the database refuses the second; kit answers it with the same
problem the check gives."""

from __future__ import annotations

from health.claims.service import duplicate_claim
from health.dialysis.service import dialysis_open, duplicate_session
from health.enrolment.service import already_enrolled
from kit.errors import Problem

CONSTRAINT_PROBLEMS: dict[str, Problem] = {
    "claims_claim_no_key": duplicate_claim(),
    "uq_enrolment_active_person_year": already_enrolled(),
    "uq_dialysis_open_person": dialysis_open(),
    "uq_dialysis_session_person_day": duplicate_session(),
    "uq_settlement_claim_number": Problem(
        409,
        "Settled at the same time",
        "the claim was settled by another request at the same time",
        code="ALREADY_SETTLED",
    ),
}
