"""Student endpoints (学籍): register a registry person as a student, change the record,
read it, list a region's students."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import EnrolmentStatus, SchoolStage
from education.auth import EducationRead, EducationWrite
from education.models import Student
from education.students import schemas
from education.students.service import StudentService
from kit.app import ReadSessionDep, SessionDep
from kit.auth import RegionQuery, region_in_scope
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES
from kit.pagination import Page, Paging

router = APIRouter(prefix="/students", tags=["students"], responses=PROBLEM_RESPONSES)


async def get_service(clock: ClockDep) -> StudentService:
    return StudentService(clock)


ServiceDep = Annotated[StudentService, Depends(get_service)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a student (学籍比对): a registry person's school record",
    description="One record a person (409 `STUDENT_EXISTS`); the person must be in your "
    "region (422 `UNKNOWN_PERSON`). Publishes `education.student.registered`.",
)
async def register_student(
    body: schemas.StudentCreate, actor: EducationWrite, session: SessionDep, service: ServiceDep
) -> schemas.StudentOut:
    return await _out(session, service, await service.register(session, body, actor))


@router.get("", summary="Students in a region, by school, stage and grade")
async def list_students(
    actor: EducationRead,
    session: ReadSessionDep,
    service: ServiceDep,
    page: Paging,
    region: RegionQuery = None,
    person_id: Annotated[uuid.UUID | None, Query(description="Only this person's")] = None,
    stage: Annotated[SchoolStage | None, Query(description="Only this 学段")] = None,
    enrolment_status: Annotated[
        EnrolmentStatus | None, Query(description="Only this 学籍状态")
    ] = None,
    school_name: Annotated[
        str | None, Query(max_length=100, description="Only this school")
    ] = None,
) -> Page[schemas.StudentOut]:
    region = region_in_scope(actor, region, field="query.region")
    rows, total = await service.search(
        session,
        region,
        page,
        person_id=person_id,
        stage=stage.value if stage else None,
        enrolment_status=enrolment_status.value if enrolment_status else None,
        school_name=school_name,
    )
    items = [await _out(session, service, student) for student in rows]
    return Page(items=items, total=total, page=page.page, size=page.size)


@router.get("/{student_id}", summary="One student")
async def get_student(
    student_id: uuid.UUID, actor: EducationRead, session: ReadSessionDep, service: ServiceDep
) -> schemas.StudentOut:
    return await _out(session, service, await service.get(session, student_id, actor))


@router.patch(
    "/{student_id}",
    summary="Change a student's school, stage, grade, boarding, status or teacher",
    description="A new `enrolment_status` needs `status_since`. Publishes "
    "`education.student.updated` when something changed.",
)
async def update_student(
    student_id: uuid.UUID,
    body: schemas.StudentUpdate,
    actor: EducationWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.StudentOut:
    return await _out(session, service, await service.update(session, student_id, body, actor))


async def _out(
    session: AsyncSession, service: StudentService, student: Student
) -> schemas.StudentOut:
    return schemas.StudentOut(
        **student.model_dump(exclude={"created_at"}),
        person_name=await service.person_name(session, student),
    )
