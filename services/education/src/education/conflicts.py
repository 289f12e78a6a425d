"""What each unique constraint of the education database means to a caller: two requests
that register the same student at once both pass the service's check, and the database
refuses the second (and a payment recorded twice); kit answers it with the catalogue's problem."""

from __future__ import annotations

from education import errors
from kit.problems import Problem

CONSTRAINT_PROBLEMS: dict[str, Problem] = {
    "students_person_id_key": errors.STUDENT_EXISTS(
        "the person has a 学籍 record already: change it (PATCH /students/{id}) instead"
    ),
    "dropout_cases_one_open": errors.CASE_EXISTS(
        "the student has an open 劝返 case already: record visits on it, or close it first"
    ),
    "uq_aid_grant_reference": errors.GRANT_REFERENCE_TAKEN(
        "a grant of the programme was paid with this payment reference (发放凭证号) already"
    ),
}
