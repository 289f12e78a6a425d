"""What each unique constraint of the health database means to a caller: two requests that
create the same thing at once (a hospital retrying a timed-out claim) both pass the
service's own check, and the database refuses the second; kit answers it with the same
problem the check gives."""

from __future__ import annotations

from health import errors
from health.chronic.service import certificate_exists
from health.claims.service import duplicate_claim
from health.critical.service import case_exists
from health.dialysis.service import dialysis_open, duplicate_session
from health.doctors.service import contract_exists
from health.enrolment.service import already_enrolled
from kit.problems import Problem

CONSTRAINT_PROBLEMS: dict[str, Problem] = {
    "claims_claim_no_key": duplicate_claim(),
    "uq_enrolment_active_person_year": already_enrolled(),
    "uq_dialysis_open_person": dialysis_open(),
    "uq_dialysis_session_person_day": duplicate_session(),
    "uq_critical_cases_open_person_disease": case_exists(),
    "ex_chronic_certificates_active_period": certificate_exists(),
    "ex_doctor_contracts_period": contract_exists(),
    "uq_settlement_claim_number": errors.ALREADY_SETTLED(
        "the claim was settled by another request at the same time"
    ),
}
