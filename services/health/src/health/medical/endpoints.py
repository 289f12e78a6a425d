"""The health service's part of a household's status, for the gateway's fresh mode."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from contracts.status import HouseholdSummary
from health.auth import StatusRead
from health.medical.service import MedicalAssessor
from kit.app import ReadSessionDep
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES

router = APIRouter(tags=["status"], responses=PROBLEM_RESPONSES)


@router.get(
    "/households/{household_id}/summary",
    summary="基本医疗有保障 of a household now: insured, treated, with a family doctor",
    description="The `medical` dimension as the health service decides it at this moment "
    "(what the gateway asks in fresh mode): `ok`, or `not_ok` with the first thing missing "
    "and a count of each; `unknown` for a household health has no members of. No names "
    "or diagnoses.",
)
async def household_summary(
    household_id: uuid.UUID, actor: StatusRead, session: ReadSessionDep, clock: ClockDep
) -> HouseholdSummary:
    return await MedicalAssessor(clock).summary(session, household_id, actor)
