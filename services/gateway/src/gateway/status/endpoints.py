"""Household status, answered from the projection (no fan-out)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter

from contracts.status import DIMENSION_LABELS as LABELS
from contracts.status import REASON_TEXT, Dimension
from gateway.models import HouseholdStatus
from gateway.status.dimensions import exit_readiness
from gateway.status.schemas import DimensionStatus, ExitReadiness, HouseholdStatusOut
from kit.app import ReadSessionDep
from kit.auth import Principal, requires
from kit.errors import PROBLEM_RESPONSES, not_found

router = APIRouter(prefix="/households", tags=["status"], responses=PROBLEM_RESPONSES)


@router.get(
    "/{household_id}/status", summary="Household status: 两不愁三保障 dimensions and exit readiness"
)
async def household_status(
    household_id: uuid.UUID,
    actor: Annotated[Principal, requires("status:read")],
    session: ReadSessionDep,
) -> HouseholdStatusOut:
    row = await session.get(HouseholdStatus, household_id)
    if row is None or not actor.can_access(row.region_code):
        raise not_found("household")  # outside the caller's region looks the same as absent
    readiness, blocking, unknown = exit_readiness(row.dimensions)
    return HouseholdStatusOut(
        household_id=row.household_id,
        region_code=row.region_code,
        head_name=row.head_name,
        member_count=row.member_count,
        poverty_state=row.poverty_state,
        assistance_type=row.assistance_type,
        monitoring_category=row.monitoring_category,
        primary_cause=row.primary_cause,
        causes=row.causes,
        dimensions={
            d.value: DimensionStatus(
                **row.dimensions[d.value],
                label=LABELS[d],
                reason_text=REASON_TEXT.get(row.dimensions[d.value].get("reason")),
            )
            for d in Dimension
        },
        exit_readiness=ExitReadiness(status=readiness, blocking=blocking, unknown=unknown),
        as_of=row.registry_event_at,
        source_event_id=row.registry_event_id,
    )
