"""大病专项救治 endpoints: the list in force, its versions, the case ledger, 救治率."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from contracts.dates import PolicyDate, PolicyYear
from contracts.region import RegionCode
from health.auth import HealthRead, HealthWrite, PolicyWrite
from health.critical import schemas
from health.critical.service import CriticalService, case_out
from kit.app import ReadSessionDep, SessionDep
from kit.auth import region_in_scope
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES
from kit.pagination import Page, Paging

router = APIRouter(tags=["critical"], responses=PROBLEM_RESPONSES)


async def get_service(clock: ClockDep) -> CriticalService:
    return CriticalService(clock)


ServiceDep = Annotated[CriticalService, Depends(get_service)]


@router.get(
    "/critical-diseases",
    summary="The 大病专项救治 list in force for a region on a day",
    description="The national version valid that day plus every regional version valid that "
    "day whose region contains the one asked (a province adds kinds, e.g. 肝癌, 尘肺).",
)
async def diseases_in_force(
    actor: HealthRead,
    session: ReadSessionDep,
    service: ServiceDep,
    clock: ClockDep,
    on: Annotated[PolicyDate | None, Query(description="Default: today")] = None,
    region: Annotated[RegionCode | None, Query(description="Default: your region")] = None,
) -> schemas.ListInForce:
    region = region_in_scope(actor, region, field="query.region")
    return await service.list_in_force(session, region, on or clock.today())


@router.get(
    "/critical-diseases/versions",
    summary="Every version of the list (national and regional), with its diseases",
)
async def list_versions(
    actor: HealthRead, session: ReadSessionDep, service: ServiceDep
) -> list[schemas.ListVersionOut]:
    return await service.versions(session)


@router.post(
    "/critical-diseases/versions",
    status_code=status.HTTP_201_CREATED,
    summary="Add a regional version of the list (a province, city or county adds kinds)",
    description="Needs `policy:write`. Versions of the same region may not overlap in time "
    "(409 `VERSION_OVERLAP`); a code appears once in a version (422 `DUPLICATE_CODE`). The "
    "national versions (21种, 25种) come with the service.",
)
async def add_version(
    body: schemas.ListVersionCreate, actor: PolicyWrite, session: SessionDep, service: ServiceDep
) -> schemas.ListVersionOut:
    return await service.add_version(session, body, actor)


@router.post(
    "/critical-cases",
    status_code=status.HTTP_201_CREATED,
    summary="Open a 专项救治 case for a patient (救治台账)",
    description="The diagnosis must fall under the list in force for the patient's region on "
    "the diagnosis date (else 422 `NOT_ON_CRITICAL_LIST`). Publishes "
    "`health.disease.diagnosed` (critical) and `health.critical_case.updated`.",
)
async def open_case(
    body: schemas.CaseCreate, actor: HealthWrite, session: SessionDep, service: ServiceDep
) -> schemas.CaseOut:
    return case_out(await service.open_case(session, body, actor))


@router.get("/critical-cases", summary="The case ledger of a region, newest diagnosis first")
async def list_cases(
    actor: HealthRead,
    session: ReadSessionDep,
    service: ServiceDep,
    paging: Paging,
    region: Annotated[RegionCode | None, Query(description="Default: your region")] = None,
    case_status: Annotated[
        schemas.CaseStatus | None, Query(alias="status", description="Only this status")
    ] = None,
    disease: Annotated[
        str | None, Query(max_length=16, description="The list's disease code, e.g. C16")
    ] = None,
    person_id: Annotated[uuid.UUID | None, Query(description="One patient's cases")] = None,
) -> Page[schemas.CaseOut]:
    region = region_in_scope(actor, region, field="query.region")
    items, total = await service.search(
        session, region, paging, status=case_status, disease=disease, person_id=person_id
    )
    return Page(items=[case_out(c) for c in items], total=total, page=paging.page, size=paging.size)


@router.get("/critical-cases/{case_id}", summary="One case with its status history")
async def get_case(
    case_id: uuid.UUID, actor: HealthRead, session: ReadSessionDep, service: ServiceDep
) -> schemas.CaseOut:
    return case_out(await service.get(session, case_id, actor))


@router.post(
    "/critical-cases/{case_id}/transitions",
    summary="Move a case on: treating, referred (转诊), treated, or closed with a reason",
    description="identified → treating → treated, or → referred → treated; an open case "
    "may be closed (death, other) with a note. Any other move is 409 "
    "`TRANSITION_NOT_ALLOWED`.",
)
async def transition_case(
    case_id: uuid.UUID,
    body: schemas.Transition,
    actor: HealthWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.CaseOut:
    return case_out(await service.transition(session, case_id, body, actor))


@router.get(
    "/reports/critical-care",
    summary="救治率: cases diagnosed in the year, and how many reached treatment",
)
async def critical_care(
    actor: HealthRead,
    session: ReadSessionDep,
    service: ServiceDep,
    year: Annotated[PolicyYear, Query(description="Year of diagnosis")],
    region: Annotated[RegionCode | None, Query(description="Default: your region")] = None,
) -> schemas.CareReport:
    region = region_in_scope(actor, region, field="query.region")
    return await service.care_report(session, region, year)
