"""The compulsory-education check (义务教育 排查): who of compulsory age is out of school."""

from __future__ import annotations

from fastapi import APIRouter

from education.auth import EducationRead
from education.compulsory_check import schemas
from education.compulsory_check.service import CompulsoryCheckService
from kit.app import ReadSessionDep
from kit.auth import RegionQuery, region_in_scope
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES
from kit.pagination import Paging

router = APIRouter(tags=["cases"], responses=PROBLEM_RESPONSES)


@router.get(
    "/compulsory-check",
    summary="义务教育 排查: compulsory-age members neither enrolled nor in an evidenced "
    "alternative mode, per village and school",
    description="Household members of compulsory age today (the policy's ages of their "
    "region; junior high finished ends it) who dropped out, are out of school, or have no "
    "matched 学籍: counts per village and per school, and a page of the list (names, age, "
    "school, open 劝返 case; no ID numbers or birth dates). Members without a birth date "
    "are not judged.",
)
async def compulsory_check(
    actor: EducationRead,
    session: ReadSessionDep,
    clock: ClockDep,
    page: Paging,
    region: RegionQuery = None,
) -> schemas.CompulsoryCheck:
    region = region_in_scope(actor, region, field="query.region")
    return await CompulsoryCheckService(clock).check(session, region, page)
