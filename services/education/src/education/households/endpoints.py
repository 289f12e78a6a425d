"""The education service's part of a household's status, for the gateway's fresh mode."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from contracts.status import HouseholdSummary
from education.auth import StatusRead
from education.households.service import EducationAssessor
from kit.app import ReadSessionDep
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES

router = APIRouter(tags=["status"], responses=PROBLEM_RESPONSES)


@router.get(
    "/households/{household_id}/summary",
    summary="义务教育有保障 of a household now: its compulsory-age children in school",
    description="The `education` dimension as the education service decides it at this "
    "moment (what the gateway asks in fresh mode): `ok`; `not_ok` with the reason "
    "(`DROPOUT`, `OUT_OF_SCHOOL`); `unknown` (`NO_STUDENT_RECORD`) when a compulsory-age "
    "member has no matched 学籍. The facts count the compulsory-age members by where they "
    "are; no names.",
)
async def household_summary(
    household_id: uuid.UUID, actor: StatusRead, session: ReadSessionDep, clock: ClockDep
) -> HouseholdSummary:
    return await EducationAssessor(clock).summary(session, household_id, actor)
