"""Administrative regions (行政区划) of the county: read-only reference data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from contracts.enums import RegionLevel
from contracts.region import RegionCode
from kit.app import ReadSessionDep
from kit.errors import PROBLEM_RESPONSES
from kit.problems import not_found
from registry.auth import RegistryRead
from registry.models import Region

router = APIRouter(prefix="/regions", tags=["regions"], responses=PROBLEM_RESPONSES)


class RegionOut(BaseModel):
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None


@router.get("", summary="Regions, optionally the children of one region")
async def list_regions(
    actor: RegistryRead,
    session: ReadSessionDep,
    parent: Annotated[
        RegionCode | None, Query(description="Only the direct children of this region")
    ] = None,
) -> list[RegionOut]:
    query = select(Region).order_by(Region.code)
    if parent:
        query = query.where(Region.parent_code == parent)
    return [
        RegionOut.model_validate(r, from_attributes=True)
        for r in (await session.execute(query)).scalars()
    ]


@router.get("/{code}", summary="One region")
async def get_region(code: RegionCode, actor: RegistryRead, session: ReadSessionDep) -> RegionOut:
    region = await session.get(Region, code)
    if region is None:
        raise not_found("region")
    return RegionOut.model_validate(region, from_attributes=True)
