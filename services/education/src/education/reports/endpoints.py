"""Reports: 资助全覆盖, the summary of a region and term, and the check of a reported aid
total."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from contracts.dates import PolicyYear
from contracts.enums import SchoolTerm
from education.auth import EducationRead
from education.reports import schemas
from education.reports.service import check_reported, coverage_report, summary_report
from kit.app import ReadSessionDep
from kit.auth import RegionQuery, region_in_scope
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES
from kit.pagination import Paging

router = APIRouter(prefix="/reports", tags=["reports"], responses=PROBLEM_RESPONSES)

SchoolYear = Annotated[PolicyYear, Query(description="学年, named by the year it begins")]
Term = Annotated[
    SchoolTerm | None, Query(description="Only this 学期 (default: the whole school year)")
]


@router.get(
    "/coverage",
    summary="资助全覆盖: students owed a programme that paid them nothing in the period",
    description="Students at school (enrolled, or in an evidenced alternative mode) of "
    "registered-poor households (建档立卡, with 脱贫不脱政策, as of today) in the region: how "
    "many are owed aid, how many received every programme owed in the school year (or the "
    "term), and, page by page, those who did not with the programmes missing. Charity is "
    "given, not owed; a one-off counts whenever it was paid.",
)
async def coverage(
    actor: EducationRead,
    session: ReadSessionDep,
    clock: ClockDep,
    page: Paging,
    school_year: SchoolYear,
    term: Term = None,
    region: RegionQuery = None,
) -> schemas.CoverageReport:
    region = region_in_scope(actor, region, field="query.region")
    return await coverage_report(session, region, school_year, term, clock.today(), page)


@router.get(
    "/summary",
    summary="A region's students by stage and status, dropouts, aid by programme (人次, 元, "
    "万元) and 资助全覆盖, for a school year or term",
)
async def summary(
    actor: EducationRead,
    session: ReadSessionDep,
    clock: ClockDep,
    school_year: SchoolYear,
    term: Term = None,
    region: RegionQuery = None,
) -> schemas.SummaryReport:
    region = region_in_scope(actor, region, field="query.region")
    return await summary_report(session, region, school_year, term, clock.today())


@router.post(
    "/reconciliations",
    summary="Check a reported aid total (students and amount) against its lines (对账)",
    description="Reports copied from paper often do not add up (DOMAIN §11): give the "
    "stated students and amount (元, 万元 or 亿元) and the lines (students, and parts as an "
    "amount or a count at a rate); the answer says whether both add up, and by how much "
    "they differ. Nothing is stored.",
)
async def reconciliation(
    body: schemas.ReportedAidTotal, actor: EducationRead
) -> schemas.AidTotalCheck:
    return check_reported(body)
