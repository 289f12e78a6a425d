"""Helper (帮扶责任人) endpoints: helpers, assignments, visits and the two helper reports."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from contracts.enums import HelperRank, describe
from contracts.region import RegionCode
from kit.app import ReadSessionDep, SessionDep
from kit.auth import Principal, region_filter
from kit.errors import PROBLEM_RESPONSES
from kit.pagination import Page, Paging
from registry.auth import RegistryRead, RegistryWrite
from registry.helpers import schemas
from registry.helpers.service import HelperService, brief, mask_phone
from registry.households.endpoints import ServiceDep as HouseholdServiceDep
from registry.models import Helper, HelperAssignment, HelperVisit
from registry.regions.scope import report_region

router = APIRouter(tags=["helpers"], responses=PROBLEM_RESPONSES)

MONTH_PATTERN = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"


async def get_service(households: HouseholdServiceDep) -> HelperService:
    return HelperService(households)


ServiceDep = Annotated[HelperService, Depends(get_service)]


@router.post(
    "/helpers", status_code=status.HTTP_201_CREATED, summary="Register a helper (帮扶责任人)"
)
async def create_helper(
    body: schemas.HelperCreate, actor: RegistryWrite, session: SessionDep, service: ServiceDep
) -> schemas.HelperOut:
    helper = await service.create(session, body, actor)
    return await _helper_out(session, service, helper, actor, load=0)


@router.get("/helpers", summary="Helpers in your region, with their current load")
async def list_helpers(
    actor: RegistryRead,
    session: ReadSessionDep,
    service: ServiceDep,
    page: Paging,
    region: Annotated[RegionCode | None, Query(description="Only this region's subtree")] = None,
    rank: Annotated[HelperRank | None, Query(description=describe(HelperRank))] = None,
    active: Annotated[bool | None, Query(description="Only active (or inactive) ones")] = None,
) -> Page[schemas.HelperOut]:
    rows, total = await service.search(
        session,
        actor,
        page=page,
        region=region_filter(actor, region),
        rank=rank,
        active=active,
    )
    items = [await _helper_out(session, service, h, actor, load=load) for h, load in rows]
    return Page(items=items, total=total, page=page.page, size=page.size)


@router.get("/helpers/{helper_id}", summary="One helper")
async def get_helper(
    helper_id: uuid.UUID, actor: RegistryRead, session: ReadSessionDep, service: ServiceDep
) -> schemas.HelperOut:
    helper = await service.get(session, helper_id, actor)
    return await _helper_out(session, service, helper, actor)


@router.patch(
    "/helpers/{helper_id}",
    summary="Change a helper's details, rank or active flag",
    description="A rank whose limit is below the current load, or deactivating a helper who "
    "still helps households, is refused with 409.",
)
async def update_helper(
    helper_id: uuid.UUID,
    body: schemas.HelperUpdate,
    actor: RegistryWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.HelperOut:
    helper = await service.update(session, helper_id, body, actor)
    return await _helper_out(session, service, helper, actor)


@router.post(
    "/households/{household_id}/helper-assignments",
    status_code=status.HTTP_201_CREATED,
    summary="Assign a helper to a household (结对帮扶)",
    description="One active primary helper (帮扶责任人) per household, optional 帮扶小组 "
    "members. Refused with 409 above the rank's load limit (科级领导干部2-3户, 一般干部1户; "
    "policy `helpers.max_load.*`), for a second primary helper (unless `replace_primary`), "
    "and for households that are not registered, exited or monitored.",
)
async def assign_helper(
    household_id: uuid.UUID,
    body: schemas.AssignmentCreate,
    actor: RegistryWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.AssignmentOut:
    assignment, helper = await service.assign(session, household_id, body, actor)
    return _assignment_out(assignment, helper)


@router.get(
    "/households/{household_id}/helper-assignments",
    summary="The household's helpers, current ones first, then past ones",
)
async def list_assignments(
    household_id: uuid.UUID, actor: RegistryRead, session: ReadSessionDep, service: ServiceDep
) -> list[schemas.AssignmentOut]:
    rows = await service.assignments(session, household_id, actor)
    return [_assignment_out(a, h) for a, h in rows]


@router.post(
    "/households/{household_id}/helper-assignments/{assignment_id}/end",
    summary="End a helper's assignment (调整, 撤出)",
)
async def end_assignment(
    household_id: uuid.UUID,
    assignment_id: uuid.UUID,
    body: schemas.AssignmentEnd,
    actor: RegistryWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.AssignmentOut:
    assignment, helper = await service.end(session, household_id, assignment_id, body, actor)
    return _assignment_out(assignment, helper)


@router.post(
    "/households/{household_id}/visits",
    status_code=status.HTTP_201_CREATED,
    summary="Record a helper's visit (帮扶记录)",
    description="The helper must be assigned to the household on the visit date, which may "
    "not be in the future.",
)
async def log_visit(
    household_id: uuid.UUID,
    body: schemas.VisitCreate,
    actor: RegistryWrite,
    session: SessionDep,
    service: ServiceDep,
) -> schemas.VisitOut:
    visit, helper = await service.log_visit(session, household_id, body, actor)
    return _visit_out(visit, helper)


@router.get("/households/{household_id}/visits", summary="The household's visits, newest first")
async def list_visits(
    household_id: uuid.UUID,
    actor: RegistryRead,
    session: ReadSessionDep,
    service: ServiceDep,
    page: Paging,
) -> Page[schemas.VisitOut]:
    rows, total = await service.visits(session, household_id, actor, page)
    return Page(
        items=[_visit_out(v, h) for v, h in rows], total=total, page=page.page, size=page.size
    )


@router.get(
    "/reports/helper-compliance",
    tags=["reports"],
    summary="Visits of each primary helper in a month against the minimum (visits_below_min)",
    description="Every primary helper assigned to a household at any time in the month, "
    "with the visits recorded in it; the minimum is the policy `helpers.min_visits_per_month` "
    "(帮扶干部每月入户不少于3次).",
)
async def helper_compliance(
    actor: RegistryRead,
    session: ReadSessionDep,
    service: ServiceDep,
    page: Paging,
    month: Annotated[
        str, Query(pattern=MONTH_PATTERN, description="Month YYYY-MM", examples=["2026-07"])
    ],
    region: Annotated[
        RegionCode | None, Query(description="Region subtree (default: your region)")
    ] = None,
) -> Page[schemas.ComplianceRow]:
    scope = await report_region(session, actor, region)
    items, total = await service.compliance(session, scope, month, page)
    return Page(items=items, total=total, page=page.page, size=page.size)


@router.get(
    "/reports/households-without-helper",
    tags=["reports"],
    summary="Poor households without an active primary helper (no_helper)",
    description="Registered, planned-exit and returned households that break the invariant "
    "'每个贫困户都有帮扶责任人' (DOMAIN §2.8).",
)
async def households_without_helper(
    actor: RegistryRead,
    session: ReadSessionDep,
    service: ServiceDep,
    page: Paging,
    region: Annotated[
        RegionCode | None, Query(description="Region subtree (default: your region)")
    ] = None,
) -> Page[schemas.WithoutHelperRow]:
    scope = await report_region(session, actor, region)
    items, total = await service.without_helper(session, scope, page)
    return Page(items=items, total=total, page=page.page, size=page.size)


async def _helper_out(
    session, service: HelperService, helper: Helper, actor: Principal, *, load: int | None = None
) -> schemas.HelperOut:
    show = actor.has("pii:read")
    return schemas.HelperOut(
        id=helper.id,
        name=helper.name,
        rank=helper.rank,
        work_unit=helper.work_unit,
        phone=helper.phone if show else mask_phone(helper.phone),
        phone_masked=not show,
        region_code=helper.region_code,
        active=helper.active,
        load=await service.load(session, helper.id) if load is None else load,
        max_load=await service.max_load(session, helper),
    )


def _assignment_out(assignment: HelperAssignment, helper: Helper) -> schemas.AssignmentOut:
    return schemas.AssignmentOut(
        id=assignment.id,
        household_id=assignment.household_id,
        helper=brief(helper),
        role=assignment.role,
        start_date=assignment.start_date,
        end_date=assignment.end_date,
        end_reason=assignment.end_reason,
        active=assignment.end_date is None,
    )


def _visit_out(visit: HelperVisit, helper: Helper) -> schemas.VisitOut:
    return schemas.VisitOut(
        id=visit.id,
        household_id=visit.household_id,
        helper=brief(helper),
        visit_date=visit.visit_date,
        kind=visit.kind,
        note=visit.note,
        recorded_by=visit.recorded_by,
    )
