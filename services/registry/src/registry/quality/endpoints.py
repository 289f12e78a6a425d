"""Screening (数据比对) and quality report endpoints: read-only, scoped to the caller's region."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from contracts.dates import PolicyYear
from kit.app import ReadSessionDep
from kit.auth import RegionQuery
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES
from kit.pagination import Page, Paging
from registry.auth import RegistryPiiRead, RegistryRead
from registry.quality import schemas
from registry.quality.service import QualityService
from registry.regions.scope import report_region

router = APIRouter(responses=PROBLEM_RESPONSES)

Year = Annotated[PolicyYear | None, Query(description="Default: this year")]


async def get_service() -> QualityService:
    return QualityService()


ServiceDep = Annotated[QualityService, Depends(get_service)]


@router.get(
    "/screening/red-flags",
    tags=["screening"],
    summary="Registered households to check (数据比对): 有车有房, income above the line, duplicates",
    description="Households counted as poor (registered, planned_exit, returned) that\n\n"
    "- `car_or_urban_house`: own a car (小汽车) or an urban house (城镇商品房) [003];\n"
    "- `above_income_line`: have a latest-survey per-capita net income above the poverty "
    "line (policy `poverty_line` for the survey year and the village);\n"
    "- `duplicates`: have a member whose name and birth date also appear in another open "
    "household (not removed, rejected or merged) — the same person entered twice under "
    "different ID numbers, or once without one.\n\n"
    "All kinds unless `kind` is given. Each entry gives the reason in words. Needs pii:read.",
)
async def red_flags(
    actor: RegistryPiiRead,
    session: ReadSessionDep,
    service: ServiceDep,
    page: Paging,
    region: RegionQuery = None,
    kind: Annotated[
        list[schemas.RedFlagKind] | None, Query(description="Only these kinds (repeatable)")
    ] = None,
) -> Page[schemas.RedFlag]:
    scope = await report_region(session, actor, region)
    items, total = await service.red_flags(
        session, actor, scope, kind or list(schemas.RedFlagKind), page
    )
    return Page(items=items, total=total, page=page.page, size=page.size)


@router.get(
    "/reports/incidence",
    tags=["reports"],
    summary="贫困发生率 per village and township against the identification quota",
    description="Poor persons (members of registered, planned_exit and returned households) "
    "divided by the population the policy `incidence.denominator` names (农村户籍人口 by "
    "default). The quota is the average incidence of identification (识别规模): 50% in a "
    "重点贫困村, 5% elsewhere [000]; exceeding it is a warning. Unknown population: rate null "
    "with the reason.",
)
async def incidence(
    actor: RegistryRead,
    session: ReadSessionDep,
    service: ServiceDep,
    clock: ClockDep,
    region: RegionQuery = None,
    year: Year = None,
) -> schemas.IncidenceReport:
    scope = await report_region(session, actor, region)
    return await service.incidence(session, scope, year or clock.today().year)


@router.get(
    "/reports/quality",
    tags=["reports"],
    summary="错评, 错退 and 漏评 of a year: counts, rates and whether they stay below the limits",
    description="From the adjustments whose effective month falls in the year: 错评 = 清退 "
    "with reason `wrongly_included` or `unexplained_car_house`; 错退 = 回退 (rollback); "
    "漏评 = 补录 (backfill). Rates are over the households of the group (registered / exited "
    "/ non-registered) plus those the findings moved out of it; limits 2% / 2% / 3% "
    "(policy `quality.max_rate.*`), each to stay strictly below.",
)
async def quality(
    actor: RegistryRead,
    session: ReadSessionDep,
    service: ServiceDep,
    clock: ClockDep,
    region: RegionQuery = None,
    year: Year = None,
) -> schemas.QualityReport:
    scope = await report_region(session, actor, region)
    return await service.quality(session, scope, year or clock.today().year)
