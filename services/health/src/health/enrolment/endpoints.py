"""Enrolment (参保) endpoints: enrol a person or a household, cancel, and 参保率."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.dates import PolicyYear
from contracts.region import RegionCode
from health.auth import HealthRead, HealthWrite
from health.enrolment import schemas
from health.enrolment.service import EnrolmentService
from health.models import Enrolment, Person
from kit.app import ReadSessionDep, SessionDep
from kit.auth import region_in_scope
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES

router = APIRouter(tags=["enrolment"], responses=PROBLEM_RESPONSES)


async def get_service(clock: ClockDep) -> EnrolmentService:
    return EnrolmentService(clock)


ServiceDep = Annotated[EnrolmentService, Depends(get_service)]


@router.post(
    "/enrolments",
    status_code=status.HTTP_201_CREATED,
    summary="Insure a person for a year (参保), with the premium subsidy that applies",
    description="四类人员 (建档立卡, 低保, 特困供养, 重度残疾) have the whole premium paid "
    "(资助参保); who belongs is learnt from the registry's events. 409 if already insured.",
)
async def enrol(
    body: schemas.EnrolmentCreate, actor: HealthWrite, session: SessionDep, service: ServiceDep
) -> schemas.EnrolmentOut:
    enrolment = await service.enrol(session, body, actor)
    return await _out(session, enrolment)


@router.post(
    "/households/{household_id}/enrolments",
    status_code=status.HTTP_201_CREATED,
    summary="Insure every member of a household not yet insured for the year",
    description="Answers the enrolments made; 409 `ALREADY_ENROLLED` when every member is "
    "insured for the year already (nothing to do).",
)
async def enrol_household(
    household_id: uuid.UUID,
    body: schemas.HouseholdEnrolmentCreate,
    actor: HealthWrite,
    session: SessionDep,
    service: ServiceDep,
) -> list[schemas.EnrolmentOut]:
    created = await service.enrol_household(session, household_id, body.year, actor)
    return [await _out(session, enrolment) for enrolment in created]


@router.get("/enrolments/{enrolment_id}", summary="One enrolment")
async def get_enrolment(
    enrolment_id: uuid.UUID, actor: HealthRead, session: ReadSessionDep, service: ServiceDep
) -> schemas.EnrolmentOut:
    return await _out(session, await service.get(session, enrolment_id, actor))


@router.post(
    "/enrolments/{enrolment_id}/cancellation",
    summary="Cancel an enrolment (退保) with a reason",
)
async def cancel_enrolment(
    enrolment_id: uuid.UUID,
    body: schemas.EnrolmentCancel,
    actor: HealthWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.EnrolmentOut:
    enrolment = await service.cancel(session, enrolment_id, body, actor)
    return await _out(session, enrolment)


@router.get(
    "/reports/participation",
    summary="参保率: persons insured for the year, by region one level down",
)
async def participation(
    actor: HealthRead,
    session: ReadSessionDep,
    service: ServiceDep,
    year: Annotated[PolicyYear, Query(description="参保年度")],
    region: Annotated[RegionCode | None, Query(description="Default: your region")] = None,
) -> schemas.ParticipationReport:
    region = region_in_scope(actor, region, field="query.region")
    return await service.participation(session, region, year)


async def _out(session: AsyncSession, enrolment: Enrolment) -> schemas.EnrolmentOut:
    person = await session.get(Person, enrolment.person_id)
    return schemas.EnrolmentOut(
        **enrolment.model_dump(exclude={"version", "created_at"}),
        person_name=person.name if person else "",
    )
