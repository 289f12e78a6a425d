"""The public notice board (公示栏): no token, masked, for anyone in the village."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from contracts.enums import WorkflowStage, describe
from contracts.region import RegionCode
from kit.app import ReadSessionDep
from kit.auth import public
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES
from registry.notices.schemas import VillageNotice
from registry.notices.service import village_notice

router = APIRouter(tags=["public notice"], responses=PROBLEM_RESPONSES)


@router.get(
    "/public/villages/{code}/notices",
    summary="公示: the households under public notice in a village (no token needed)",
    description="The open 公示 windows of the village: 纳入 (identification) and 脱贫 (exit). "
    "Names and ID numbers are masked; no income, assets, causes or other survey data "
    "(DOMAIN §1.7). Objections go to the village, the township or the hotline until each "
    "entry's end date.",
    dependencies=[public("公示 must be open to every villager (公开透明)")],
)
async def get_village_notice(
    code: RegionCode,
    session: ReadSessionDep,
    clock: ClockDep,
    stage: Annotated[WorkflowStage | None, Query(description=describe(WorkflowStage))] = None,
) -> VillageNotice:
    return await village_notice(session, code, stage, clock.today())
