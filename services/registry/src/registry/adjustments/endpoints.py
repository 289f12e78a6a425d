"""Composition changes of a household (自然增减, 户内人员增减, 并户) and its adjustment record."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends

from kit.app import ReadSessionDep, SessionDep
from kit.errors import PROBLEM_RESPONSES
from registry.adjustments.schemas import AdjustmentOut, ChangeRequest
from registry.adjustments.service import AdjustmentService
from registry.auth import RegistryRead, RegistryWrite
from registry.households.endpoints import ServiceDep as HouseholdServiceDep
from registry.households.endpoints import household_out
from registry.households.schemas import HouseholdOut

router = APIRouter(tags=["adjustments"], responses=PROBLEM_RESPONSES)


async def get_service(households: HouseholdServiceDep) -> AdjustmentService:
    return AdjustmentService(households)


AdjustmentServiceDep = Annotated[AdjustmentService, Depends(get_service)]


@router.post(
    "/households/{household_id}/adjustments",
    summary="Change who belongs to the household (自然增减, 户内人员增减, 并户)",
    description="`change` picks the kind:\n\n"
    "- `join`: a person joins (birth → 自然增减; marriage, migration → 户内人员增减)\n"
    "- `leave`: a person leaves (death → 自然增减; marriage, migration → 户内人员增减); a "
    "leaving head (户主) names the member who takes over\n"
    "- `move`: a person moves to another household in the register (户内人员增减 on both)\n"
    "- `merge`: 并户, this household joins another (needs `registry:approve`); it keeps its "
    "id with `merged_into` and leaves the register\n\n"
    "Each household involved gets an adjustment record with the effective month and the "
    "evidence, and a `registry.household.adjusted` event. A person is in one household at a "
    "time: an ID number already registered elsewhere gets 409.",
)
async def change_household(
    household_id: uuid.UUID,
    body: Annotated[ChangeRequest, Body()],
    actor: RegistryWrite,
    session: SessionDep,
    service: AdjustmentServiceDep,
) -> HouseholdOut:
    household, members = await service.apply(session, household_id, body, actor)
    return household_out(household, members, actor, service.households.vault)


@router.get(
    "/households/{household_id}/adjustments",
    summary="The household's 动态调整 record (workflow adjustments such as 清退 included)",
)
async def list_adjustments(
    household_id: uuid.UUID,
    actor: RegistryRead,
    session: ReadSessionDep,
    service: AdjustmentServiceDep,
) -> list[AdjustmentOut]:
    rows = await service.list(session, household_id, actor)
    return [AdjustmentOut.model_validate(r, from_attributes=True) for r in rows]
