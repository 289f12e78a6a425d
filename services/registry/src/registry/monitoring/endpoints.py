"""Risk alert endpoints (防返贫监测): raise by hand, search, read, move forward."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from contracts.enums import AlertKind, AlertStatus, describe
from contracts.region import RegionCode
from kit.app import ReadSessionDep, SessionDep
from kit.auth import region_filter
from kit.errors import PROBLEM_RESPONSES
from kit.pagination import Page, Paging
from registry.auth import RegistryRead, RegistryWrite
from registry.households.endpoints import ServiceDep as HouseholdServiceDep
from registry.models import RiskAlert
from registry.monitoring.schemas import AlertCreate, AlertOut, AlertSource, AlertTransition
from registry.monitoring.service import MonitoringService, is_overdue

router = APIRouter(tags=["monitoring"], responses=PROBLEM_RESPONSES)


async def get_monitoring(households: HouseholdServiceDep) -> MonitoringService:
    return MonitoringService(households)


MonitoringDep = Annotated[MonitoringService, Depends(get_monitoring)]


@router.post(
    "/alerts",
    status_code=status.HTTP_201_CREATED,
    summary="Raise a risk alert by hand (返贫致贫风险)",
    description="A risk found by a visit or reported by villagers, with its evidence. Like an "
    "alert from another department's event, it puts an exited household under monitoring "
    "(脱贫不稳定户) and marks a household outside the register as 边缘户; due in 30 days "
    "(policy `monitoring.alert_due_days`).",
)
async def create_alert(
    body: AlertCreate,
    actor: RegistryWrite,
    session: SessionDep,
    monitoring: MonitoringDep,
    request: Request,
) -> AlertOut:
    alert = await monitoring.create(session, body, actor)
    return alert_out(alert, request)


@router.get("/alerts", summary="Search risk alerts in your region")
async def list_alerts(
    actor: RegistryRead,
    session: ReadSessionDep,
    monitoring: MonitoringDep,
    request: Request,
    page: Paging,
    region: Annotated[RegionCode | None, Query(description="Only this region's subtree")] = None,
    alert_status: Annotated[
        list[AlertStatus] | None, Query(alias="status", description=describe(AlertStatus))
    ] = None,
    kind: Annotated[list[AlertKind] | None, Query(description=describe(AlertKind))] = None,
    overdue: Annotated[
        bool | None, Query(description="true: not closed and past the due date; false: the rest")
    ] = None,
    household_id: Annotated[uuid.UUID | None, Query(description="Only this household")] = None,
) -> Page[AlertOut]:
    rows, total = await monitoring.search(
        session,
        actor,
        page=page,
        region=region_filter(actor, region),
        statuses=alert_status or (),
        kinds=kind or (),
        overdue=overdue,
        household_id=household_id,
    )
    items = [alert_out(a, request) for a in rows]
    return Page(items=items, total=total, page=page.page, size=page.size)


@router.get("/alerts/{alert_id}", summary="One risk alert with its steps")
async def get_alert(
    alert_id: uuid.UUID,
    actor: RegistryRead,
    session: ReadSessionDep,
    monitoring: MonitoringDep,
    request: Request,
) -> AlertOut:
    return alert_out(await monitoring.get(session, alert_id, actor), request)


@router.post(
    "/alerts/{alert_id}/transitions",
    summary="Move a risk alert forward (研判 → 帮扶 → 解除)",
    description="`assess` (研判) with the `assessment`: a monitoring category (边缘户, "
    "脱贫不稳定户, 突发严重困难户), or `not_at_risk`, which closes the alert; then `assist` "
    "(帮扶措施) and `close` (风险消除). Each step keeps who, when and the note. Alerts only "
    "move forward: anything else is a 409 that says why.",
)
async def move_alert(
    alert_id: uuid.UUID,
    body: AlertTransition,
    actor: RegistryWrite,
    session: SessionDep,
    monitoring: MonitoringDep,
    request: Request,
) -> AlertOut:
    alert = await monitoring.transition(session, alert_id, body, actor)
    return alert_out(alert, request)


def alert_out(alert: RiskAlert, request: Request) -> AlertOut:
    source = (
        AlertSource(
            service=alert.source_service,
            event_type=alert.source_event_type,
            event_id=alert.source_event_id,
        )
        if alert.source_event_id
        else None
    )
    data = {c: getattr(alert, c) for c in AlertOut.model_fields if hasattr(alert, c)}
    data.update(source=source, overdue=is_overdue(alert, request.app.state.clock.today()))
    return AlertOut.model_validate(data)
