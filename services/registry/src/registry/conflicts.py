"""What each unique constraint of the registry's database means to a caller: two requests
that create the same thing at once both pass the service's own check, and the database
refuses the second; kit answers it with the same problem the check gives."""

from __future__ import annotations

from kit.errors import Problem
from registry.households.service import id_taken

CONSTRAINT_PROBLEMS: dict[str, Problem] = {
    "members_id_number_hash_key": id_taken("body"),
    "ux_helper_assignments_primary": Problem(
        409,
        "Household has a primary helper",
        "another primary helper was assigned at the same time",
        code="PRIMARY_HELPER_EXISTS",
        field="body.role",
    ),
    "ux_helper_assignments_active": Problem(
        409,
        "Already assigned",
        "this helper was assigned to the household at the same time",
        code="ALREADY_ASSIGNED",
        field="body.helper_id",
    ),
    "ux_risk_alerts_medical_cost_year": Problem(
        409,
        "Alert exists",
        "this household already has a high-medical-cost alert this year (one per household "
        "and year); add to that one",
        code="ALERT_EXISTS",
        field="body.kind",
    ),
}
