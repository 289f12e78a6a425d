"""Aid grant endpoints (教育资助): pay a grant within its standard, read one, list a
region's."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from contracts.dates import PolicyYear
from contracts.enums import AidProgramme, SchoolTerm
from education.aid import schemas
from education.aid.service import GrantService
from education.auth import EducationRead, EducationWrite
from education.models import AidGrant
from kit.app import ReadSessionDep, SessionDep
from kit.auth import RegionQuery, region_in_scope
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES
from kit.pagination import Page, Paging

router = APIRouter(prefix="/grants", tags=["grants"], responses=PROBLEM_RESPONSES)


async def get_service(clock: ClockDep) -> GrantService:
    return GrantService(clock)


ServiceDep = Annotated[GrantService, Depends(get_service)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Pay an aid grant to a student (教育资助), within its programme's standard",
    description="Refused, storing nothing, when the student is not eligible (422 "
    "`NOT_ELIGIBLE`), when it and what the student received from the programme this school "
    "year (a one-off: ever) pass the standard (422 `GRANT_ABOVE_STANDARD`), or when a "
    "programme the policy says does not stack was paid this school year (422 "
    "`GRANTS_DO_NOT_STACK`); a payment reference is used once a programme (409 "
    "`GRANT_REFERENCE_TAKEN`). Publishes `education.aid.paid`.",
)
async def pay_grant(
    body: schemas.GrantCreate, actor: EducationWrite, session: SessionDep, service: ServiceDep
) -> schemas.GrantOut:
    return _out(await service.pay(session, body, actor))


@router.get("", summary="Aid grants paid in a region, newest first")
async def list_grants(
    actor: EducationRead,
    session: ReadSessionDep,
    service: ServiceDep,
    page: Paging,
    region: RegionQuery = None,
    programme: Annotated[AidProgramme | None, Query(description="Only this 资助项目")] = None,
    school_year: Annotated[PolicyYear | None, Query(description="Only this 学年")] = None,
    term: Annotated[SchoolTerm | None, Query(description="Only this 学期")] = None,
    student_id: Annotated[uuid.UUID | None, Query(description="Only this student's")] = None,
) -> Page[schemas.GrantOut]:
    region = region_in_scope(actor, region, field="query.region")
    rows, total = await service.search(
        session,
        region,
        page,
        student_id=student_id,
        programme=programme.value if programme else None,
        school_year=school_year,
        term=term.value if term else None,
    )
    return Page(items=[_out(g) for g in rows], total=total, page=page.page, size=page.size)


@router.get("/{grant_id}", summary="One aid grant")
async def get_grant(
    grant_id: uuid.UUID, actor: EducationRead, session: ReadSessionDep, service: ServiceDep
) -> schemas.GrantOut:
    return _out(await service.get(session, grant_id, actor))


def _out(grant: AidGrant) -> schemas.GrantOut:
    return schemas.GrantOut.model_validate(grant, from_attributes=True)
