"""Dialysis endpoints: patients (血液透析), sessions with the county subsidy, the report."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.dates import PolicyYear
from health.auth import HealthRead, HealthWrite
from health.dialysis import schemas
from health.dialysis.service import DialysisService
from health.models import DialysisPatient, DialysisSession, Person
from kit.app import ReadSessionDep, SessionDep
from kit.auth import RegionQuery, region_in_scope
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES
from kit.pagination import Page, Paging

router = APIRouter(tags=["dialysis"], responses=PROBLEM_RESPONSES)


async def get_service(clock: ClockDep) -> DialysisService:
    return DialysisService(clock)


ServiceDep = Annotated[DialysisService, Depends(get_service)]


@router.post(
    "/dialysis-patients",
    status_code=status.HTTP_201_CREATED,
    summary="Register a maintenance-haemodialysis patient (血液透析)",
    description="One open record a person (409 `DIALYSIS_OPEN`). Publishes "
    "`health.dialysis.started`; the registry raises a monitoring alert and registers a "
    "rural-hukou patient's household.",
)
async def register_patient(
    body: schemas.DialysisPatientCreate,
    actor: HealthWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.DialysisPatientOut:
    return await _patient_out(session, await service.register(session, body, actor))


@router.get("/dialysis-patients", summary="Dialysis patients in a region")
async def list_patients(
    actor: HealthRead,
    session: ReadSessionDep,
    service: ServiceDep,
    page: Paging,
    region: RegionQuery = None,
    person_id: Annotated[uuid.UUID | None, Query(description="Only this person's")] = None,
    open: Annotated[bool | None, Query(description="Only open (or only ended) records")] = None,
) -> Page[schemas.DialysisPatientOut]:
    region = region_in_scope(actor, region, field="query.region")
    rows, total = await service.search(session, region, page, person_id=person_id, open_only=open)
    items = [await _patient_out(session, patient) for patient in rows]
    return Page(items=items, total=total, page=page.page, size=page.size)


@router.get("/dialysis-patients/{patient_id}", summary="One dialysis patient")
async def get_patient(
    patient_id: uuid.UUID, actor: HealthRead, session: ReadSessionDep, service: ServiceDep
) -> schemas.DialysisPatientOut:
    return await _patient_out(session, await service.get(session, patient_id, actor))


@router.post(
    "/dialysis-patients/{patient_id}/end",
    summary="End a patient's dialysis (肾移植, 死亡 …) with a reason",
    description="Not before the last recorded session; publishes `health.dialysis.ended`.",
)
async def end_dialysis(
    patient_id: uuid.UUID,
    body: schemas.DialysisEnd,
    actor: HealthWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.DialysisPatientOut:
    return await _patient_out(session, await service.end(session, patient_id, body, actor))


@router.post(
    "/dialysis-patients/{patient_id}/sessions",
    status_code=status.HTTP_201_CREATED,
    summary="Record a dialysis session; it earns the county subsidy (透析补助)",
    description="The subsidy is the policy `dialysis.subsidy_per_session` (default 100.00元) "
    "of the patient's region and the session's year, kept on the session. One session a "
    "person a day (409 `DUPLICATE_SESSION`). Publishes `health.dialysis.session_recorded`.",
)
async def record_session(
    patient_id: uuid.UUID,
    body: schemas.SessionCreate,
    actor: HealthWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.SessionOut:
    return _session_out(await service.record_session(session, patient_id, body, actor))


@router.get("/dialysis-patients/{patient_id}/sessions", summary="A patient's sessions, by date")
async def list_sessions(
    patient_id: uuid.UUID, actor: HealthRead, session: ReadSessionDep, service: ServiceDep
) -> list[schemas.SessionOut]:
    return [_session_out(s) for s in await service.sessions(session, patient_id, actor)]


@router.get(
    "/reports/dialysis",
    summary="Dialysis patients, sessions and subsidy of a year, by region one level down",
    description="The subsidy total is the sum of the sessions' recorded subsidies (sessions "
    "× the rate in force when each was recorded), to the fen.",
)
async def dialysis_report(
    actor: HealthRead,
    session: ReadSessionDep,
    service: ServiceDep,
    year: Annotated[PolicyYear, Query(description="年度")],
    region: RegionQuery = None,
) -> schemas.DialysisReport:
    region = region_in_scope(actor, region, field="query.region")
    return await service.report(session, region, year)


async def _patient_out(
    session: AsyncSession, patient: DialysisPatient
) -> schemas.DialysisPatientOut:
    person = await session.get(Person, patient.person_id)
    return schemas.DialysisPatientOut(
        **patient.model_dump(exclude={"version", "created_at"}),
        person_name=person.name if person else "",
    )


def _session_out(record: DialysisSession) -> schemas.SessionOut:
    return schemas.SessionOut(
        **record.model_dump(exclude={"person_id", "region_code", "year", "created_at"})
    )
