"""Claim endpoints: submit and settle in one call (一站式结算), read, reverse, settle again."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy.ext.asyncio import AsyncSession

from health.auth import HealthRead, HealthWrite
from health.claims import schemas
from health.claims.service import ClaimService
from health.models import Claim, Settlement
from kit.app import ReadSessionDep, SessionDep
from kit.clock import ClockDep
from kit.errors import PROBLEM_RESPONSES

router = APIRouter(tags=["claims"], responses=PROBLEM_RESPONSES)
RATIO_PLACES = Decimal("0.0001")


async def get_service(clock: ClockDep) -> ClaimService:
    return ClaimService(clock)


ServiceDep = Annotated[ClaimService, Depends(get_service)]


@router.post(
    "/claims",
    status_code=status.HTTP_201_CREATED,
    summary="Submit a claim and settle it at once (一站式结算), with the full breakdown",
    description="The cost is attributed in order to 基本医疗保险 → 大病保险 → 医疗救助 → "
    "补充保险 → 县级兜底资金, by the terms of the patient's region, year, group and hospital "
    "level; a 建档立卡 inpatient pays at most the capped share of the compliant cost (10% at "
    "county, 5% at township hospitals by default). Out-of-catalogue lines need a signed "
    "consent (422 `CONSENT_MISSING`); a claim number is accepted once (409).",
)
async def submit_claim(
    body: schemas.ClaimCreate, actor: HealthWrite, session: SessionDep, service: ServiceDep
) -> schemas.ClaimOut:
    claim = await service.submit(session, body, actor)
    return await claim_out(session, service, claim)


@router.get("/claims/{claim_id}", summary="One claim with its settlements")
async def get_claim(
    claim_id: uuid.UUID, actor: HealthRead, session: ReadSessionDep, service: ServiceDep
) -> schemas.ClaimOut:
    return await claim_out(session, service, await service.get(session, claim_id, actor))


@router.post(
    "/claims/{claim_id}/reversal",
    summary="Reverse the settlement (冲销) with a reason; the annual caps it used come back",
)
async def reverse_claim(
    claim_id: uuid.UUID,
    body: schemas.ClaimReversal,
    actor: HealthWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.ClaimOut:
    claim = await service.reverse(session, claim_id, body.reason, actor)
    return await claim_out(session, service, claim)


@router.post(
    "/claims/{claim_id}/settlement",
    summary="Settle a reversed claim again, against the caps as they are now",
)
async def resettle_claim(
    claim_id: uuid.UUID, actor: HealthWrite, session: SessionDep, service: ServiceDep
) -> schemas.ClaimOut:
    claim = await service.resettle(session, claim_id, actor)
    return await claim_out(session, service, claim)


async def claim_out(session: AsyncSession, service: ClaimService, claim: Claim) -> schemas.ClaimOut:
    history = [_settlement_out(s, claim) for s in await service.history(session, claim.id)]
    return schemas.ClaimOut(
        **claim.model_dump(exclude={"version", "created_at"}),
        settlement=history[-1],
        history=history,
    )


def _settlement_out(settlement: Settlement, claim: Claim) -> schemas.SettlementOut:
    return schemas.SettlementOut(
        number=settlement.number,
        payers=schemas.PayersOut(
            bmi=settlement.bmi,
            cii=settlement.cii,
            ma=settlement.ma,
            supplementary=settlement.supplementary,
            county_fund=settlement.county_fund,
            personal=settlement.personal,
        ),
        compliant_personal=settlement.compliant_personal,
        compliant_personal_ratio=_ratio(settlement.compliant_personal, claim.compliant),
        actual_personal_ratio=_ratio(settlement.personal, claim.total),
        terms=settlement.terms,
        warnings=settlement.warnings,
        settled_at=settlement.settled_at,
        reversed_at=settlement.reversed_at,
        reversal_reason=settlement.reversal_reason,
    )


def _ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole).quantize(RATIO_PLACES) if whole else None
