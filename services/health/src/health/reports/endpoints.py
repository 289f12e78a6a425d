"""Reports: settlements by payer and region, and the check of a reported total."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from contracts.dates import PolicyDate
from contracts.reconcile import ReconciliationOut
from contracts.region import RegionCode
from health import errors
from health.auth import HealthRead
from health.reports import schemas
from health.reports.service import check_reported, settlement_report
from kit.app import ReadSessionDep
from kit.auth import region_in_scope
from kit.errors import PROBLEM_RESPONSES

router = APIRouter(tags=["reports"], responses=PROBLEM_RESPONSES)


@router.get(
    "/reports/settlements",
    summary="一站式结算 人次 and amounts (元 and 万元) by payer, by region one level down",
    description="Computed from the settlements in force (reversed ones left out) of claims "
    "discharged in the period; `checks` recomputes every total from its parts.",
)
async def settlements(
    actor: HealthRead,
    session: ReadSessionDep,
    date_from: Annotated[PolicyDate, Query(description="First discharge date counted")],
    date_to: Annotated[PolicyDate, Query(description="Last discharge date counted")],
    region: Annotated[RegionCode | None, Query(description="Default: your region")] = None,
) -> schemas.SettlementReport:
    region = region_in_scope(actor, region, field="query.region")
    if date_to < date_from:
        raise errors.INVALID_PERIOD("date_to is before date_from")
    return await settlement_report(session, region, date_from, date_to)


@router.post(
    "/reports/reconciliation",
    summary="Check a reported total against the parts it claims (对账)",
    description="Reports copied from paper often do not add up (DOMAIN §11): give the "
    "stated total and its parts (amounts, or counts at a rate, in 元, 万元 or 亿元); the "
    "answer says whether they do, and by how much they differ. Nothing is stored.",
)
async def reconciliation(body: schemas.ReportedTotal, actor: HealthRead) -> ReconciliationOut:
    return check_reported(body)
