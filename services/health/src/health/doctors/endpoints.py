"""Family-doctor endpoints: contracts (家庭医生签约), follow-ups (随访), 签约率 and 履约率."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.dates import PolicyYear
from health.auth import HealthRead, HealthWrite
from health.doctors import schemas
from health.doctors.service import ContractService
from health.models import DoctorContract, FollowUp, Person
from kit.app import ReadSessionDep, SessionDep
from kit.auth import RegionQuery, region_in_scope
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES
from kit.pagination import Page, Paging

router = APIRouter(tags=["family doctors"], responses=PROBLEM_RESPONSES)
Year = Annotated[PolicyYear, Query(description="年度")]


async def get_service(clock: ClockDep) -> ContractService:
    return ContractService(clock)


ServiceDep = Annotated[ContractService, Depends(get_service)]


@router.post(
    "/doctor-contracts",
    status_code=status.HTTP_201_CREATED,
    summary="Sign a family-doctor contract for a person (家庭医生签约)",
    description="有偿 (`paid`, fee above 0) or 无偿 (fee 0). 慢病 are codes of the policy lists "
    "`family_doctor.key_chronic_conditions` (4类慢病, default 高血压/糖尿病/结核病/严重精神障碍) "
    "and `family_doctor.other_chronic_conditions` (6类慢病, e.g. 脑血管病). One contract a "
    "person at a time: a period overlapping another contract is refused with 409 "
    "`CONTRACT_EXISTS`. Publishes `health.contract.signed` with a `chronic` flag only.",
)
async def sign_contract(
    body: schemas.ContractCreate, actor: HealthWrite, session: SessionDep, service: ServiceDep
) -> schemas.ContractOut:
    contract = await service.sign(session, body, actor)
    return await contract_out(session, service, contract)


@router.get("/doctor-contracts", summary="Contracts in a region, by person or in force")
async def list_contracts(
    actor: HealthRead,
    session: ReadSessionDep,
    service: ServiceDep,
    page: Paging,
    region: RegionQuery = None,
    person_id: Annotated[uuid.UUID | None, Query(description="Only this person's")] = None,
    active: Annotated[
        bool | None, Query(description="Only contracts in force today (or only the others)")
    ] = None,
) -> Page[schemas.ContractOut]:
    region = region_in_scope(actor, region, field="query.region")
    rows, total = await service.search(session, region, page, person_id=person_id, active=active)
    items = [await contract_out(session, service, contract) for contract in rows]
    return Page(items=items, total=total, page=page.page, size=page.size)


@router.get("/doctor-contracts/{contract_id}", summary="One contract")
async def get_contract(
    contract_id: uuid.UUID, actor: HealthRead, session: ReadSessionDep, service: ServiceDep
) -> schemas.ContractOut:
    contract = await service.get(session, contract_id, actor)
    return await contract_out(session, service, contract)


@router.post(
    "/doctor-contracts/{contract_id}/termination",
    summary="Terminate a contract (解约) with a reason and its last day",
    description="The last day lies within the contract and not in the future; publishes "
    "`health.contract.ended`.",
)
async def terminate_contract(
    contract_id: uuid.UUID,
    body: schemas.ContractTermination,
    actor: HealthWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.ContractOut:
    contract = await service.terminate(session, contract_id, body, actor)
    return await contract_out(session, service, contract)


@router.post(
    "/doctor-contracts/{contract_id}/follow-ups",
    status_code=status.HTTP_201_CREATED,
    summary="Record a follow-up (随访) with its disposition (具体处置)",
    description="每次随访须有具体处置: a blank disposition is a 422, and so is a date outside "
    "the contract (`OUTSIDE_CONTRACT`) or a condition the contract does not cover.",
)
async def record_follow_up(
    contract_id: uuid.UUID,
    body: schemas.FollowUpCreate,
    actor: HealthWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.FollowUpOut:
    return _follow_up_out(await service.follow_up(session, contract_id, body, actor))


@router.get("/doctor-contracts/{contract_id}/follow-ups", summary="A contract's follow-ups")
async def list_follow_ups(
    contract_id: uuid.UUID, actor: HealthRead, session: ReadSessionDep, service: ServiceDep
) -> list[schemas.FollowUpOut]:
    return [_follow_up_out(f) for f in await service.follow_ups(session, contract_id, actor)]


@router.get(
    "/reports/family-doctors",
    summary="签约率 and 履约率 of a year, by region one level down",
    description="Persons living in households (from the registry's events), those with a "
    "contract in force at some time in the year (签约率), paid and free contracts, and of "
    "the contracted persons with a 4类慢病 those seen face to face at least "
    "`family_doctor.min_face_to_face_follow_ups` times (default 4) in the year (履约率).",
)
async def family_doctor_report(
    actor: HealthRead,
    session: ReadSessionDep,
    service: ServiceDep,
    year: Year,
    region: RegionQuery = None,
) -> schemas.FamilyDoctorReport:
    region = region_in_scope(actor, region, field="query.region")
    return await service.report(session, region, year)


@router.get(
    "/reports/family-doctors/non-compliant",
    summary="Contracts not kept (未履约) in a year: too few face-to-face follow-ups",
)
async def non_compliant_contracts(
    actor: HealthRead,
    session: ReadSessionDep,
    service: ServiceDep,
    page: Paging,
    year: Year,
    region: RegionQuery = None,
) -> Page[schemas.NonCompliantContract]:
    region = region_in_scope(actor, region, field="query.region")
    items, total = await service.non_compliant(session, region, year, page)
    return Page(items=items, total=total, page=page.page, size=page.size)


async def contract_out(
    session: AsyncSession, service: ContractService, contract: DoctorContract
) -> schemas.ContractOut:
    person = await session.get(Person, contract.person_id)
    return schemas.ContractOut(
        **contract.model_dump(exclude={"version", "created_at", "chronic_conditions"}),
        person_name=person.name if person else "",
        chronic_conditions=await service.condition_names(session, contract),
        in_force=service.in_force(contract),
    )


def _follow_up_out(follow_up: FollowUp) -> schemas.FollowUpOut:
    return schemas.FollowUpOut(**follow_up.model_dump(exclude={"person_id", "created_at"}))
