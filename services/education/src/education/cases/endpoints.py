"""劝返 case endpoints (控辍保学): open a case, list a region's (and the overdue), read one
with its visits, record a visit, change the responsible person or due date, close it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import DropoutCaseStatus, describe
from education.auth import EducationRead, EducationWrite
from education.cases import schemas
from education.cases.service import CaseService
from kit.app import ReadSessionDep, SessionDep
from kit.auth import RegionQuery, region_in_scope
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES
from kit.pagination import Page, Paging

router = APIRouter(prefix="/cases", tags=["cases"], responses=PROBLEM_RESPONSES)

# A case's paths take a UUID only (``{case_id:uuid}``), so /cases/overdue is never read as a
# case id: another method there is a 405, not a 422 on the id.


async def get_service(clock: ClockDep) -> CaseService:
    return CaseService(clock)


ServiceDep = Annotated[CaseService, Depends(get_service)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Open a 劝返 case (控辍保学) for a student out of school",
    description="A compulsory-age dropout opens one by itself; this opens one by hand. Due "
    "the policy's `cases.due_days` after opening. One open case a student (409 "
    "`CASE_EXISTS`); not for a student enrolled or in an evidenced alternative mode (409 "
    "`STUDENT_IN_SCHOOL`). Publishes `education.case.opened`.",
)
async def open_case(
    body: schemas.CaseCreate, actor: EducationWrite, session: SessionDep, service: ServiceDep
) -> schemas.CaseDetail:
    return await service.detail(session, await service.open(session, body, actor))


async def _page(
    session: AsyncSession,
    service: CaseService,
    region: str,
    page: Paging,
    **filters,
) -> Page[schemas.CaseOut]:
    rows, total = await service.search(session, region, page, **filters)
    return Page(items=await service.out(session, rows), total=total, page=page.page, size=page.size)


@router.get("", summary="劝返 cases of a region, the soonest due first")
async def list_cases(
    actor: EducationRead,
    session: ReadSessionDep,
    service: ServiceDep,
    page: Paging,
    region: RegionQuery = None,
    case_status: Annotated[
        DropoutCaseStatus | None,
        Query(alias="status", description=describe(DropoutCaseStatus)),
    ] = None,
    overdue: Annotated[
        bool | None, Query(description="Only the open cases past their due date (or not)")
    ] = None,
    person_id: Annotated[uuid.UUID | None, Query(description="Only this person's")] = None,
) -> Page[schemas.CaseOut]:
    region = region_in_scope(actor, region, field="query.region")
    return await _page(
        session, service, region, page, status=case_status, overdue=overdue, person_id=person_id
    )


@router.get(
    "/overdue",
    summary="Open 劝返 cases past their due date today, the longest overdue first",
)
async def overdue_cases(
    actor: EducationRead,
    session: ReadSessionDep,
    service: ServiceDep,
    page: Paging,
    region: RegionQuery = None,
) -> Page[schemas.CaseOut]:
    region = region_in_scope(actor, region, field="query.region")
    return await _page(session, service, region, page, overdue=True)


@router.get("/{case_id:uuid}", summary="One 劝返 case with its visits")
async def get_case(
    case_id: uuid.UUID, actor: EducationRead, session: ReadSessionDep, service: ServiceDep
) -> schemas.CaseDetail:
    return await service.detail(session, await service.get(session, case_id, actor))


@router.patch(
    "/{case_id:uuid}",
    summary="Change an open case's responsible person (劝返责任人) or due date",
    description="A closed case is 409 `CASE_CLOSED`; a due date before the opening is 422 "
    "`DATE_BEFORE_OPENING`. Publishes `education.case.updated` when something changed.",
)
async def update_case(
    case_id: uuid.UUID,
    body: schemas.CaseUpdate,
    actor: EducationWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.CaseDetail:
    return await service.detail(session, await service.update(session, case_id, body, actor))


@router.post(
    "/{case_id:uuid}/visits",
    status_code=status.HTTP_201_CREATED,
    summary="Record a 劝返 visit: when, by whom, what was said or agreed, the next step",
    description="On an open case, dated between its opening and today. Publishes "
    "`education.case.updated` (with the count of visits).",
)
async def add_visit(
    case_id: uuid.UUID,
    body: schemas.VisitCreate,
    actor: EducationWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.CaseDetail:
    return await service.detail(session, await service.add_visit(session, case_id, body, actor))


@router.post(
    "/{case_id:uuid}/close",
    summary="Close a case with its outcome: returned, alternative mode or exempt",
    description="`returned` needs the student enrolled again and `alternative_mode` the "
    "student in an evidenced alternative mode (409 `OUTCOME_NOT_MET`: change the 学籍 "
    "first); `alternative_mode` and `exempt` need `evidence` (422 "
    "`OUTCOME_EVIDENCE_REQUIRED`). Publishes `education.case.closed`.",
)
async def close_case(
    case_id: uuid.UUID,
    body: schemas.CaseClose,
    actor: EducationWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.CaseDetail:
    return await service.detail(session, await service.close(session, case_id, body, actor))
