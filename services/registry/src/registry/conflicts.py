"""What each unique constraint of the registry's database means to a caller: two requests
that create the same thing at once both pass the service's own check, and the database
refuses the second; kit answers it with the same problem the check gives."""

from __future__ import annotations

from kit.problems import Problem
from registry import errors
from registry.households.service import id_taken

CONSTRAINT_PROBLEMS: dict[str, Problem] = {
    "members_id_number_hash_key": id_taken("body"),
    "ux_helper_assignments_primary": errors.PRIMARY_HELPER_EXISTS(
        "another primary helper was assigned at the same time"
    ),
    "ux_helper_assignments_active": errors.ALREADY_ASSIGNED(
        "this helper was assigned to the household at the same time"
    ),
    "ux_risk_alerts_medical_cost_year": errors.ALERT_EXISTS(
        "this household already has a high-medical-cost alert this year (one per household "
        "and year); add to that one"
    ),
}
