"""Household and member endpoints: parse, authorise, call the service, shape the response."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from contracts.enums import PovertyState, describe
from contracts.region import RegionCode
from kit.app import SessionDep
from kit.auth import Principal, requires
from kit.errors import PROBLEM_RESPONSES
from kit.pagination import Page, PageParams, page_params
from registry.households.schemas import (
    HouseholdCreate,
    HouseholdOut,
    HouseholdSummary,
    HouseholdUpdate,
    MemberCreate,
    MemberOut,
    MemberUpdate,
)
from registry.households.service import HouseholdService
from registry.models import Household, Member

router = APIRouter(prefix="/households", tags=["households"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Principal, requires("registry:read")]
Writer = Annotated[Principal, requires("registry:write")]


def get_service(request: Request) -> HouseholdService:
    return HouseholdService(request.app.state.vault)


ServiceDep = Annotated[HouseholdService, Depends(get_service)]


@router.post(
    "", status_code=status.HTTP_201_CREATED, summary="Register a household with its members (建档)"
)
async def create_household(
    body: HouseholdCreate, actor: Writer, session: SessionDep, service: ServiceDep
) -> HouseholdOut:
    household, members = await service.create(session, body, actor)
    return _out(household, members, actor, service)


@router.get("", summary="List households in your region")
async def list_households(
    actor: Reader,
    session: SessionDep,
    service: ServiceDep,
    page: Annotated[PageParams, Depends(page_params)],
    region: Annotated[RegionCode | None, Query(description="Only this region's subtree")] = None,
    poverty_state: Annotated[
        list[PovertyState] | None, Query(description=describe(PovertyState))
    ] = None,
) -> Page[HouseholdSummary]:
    rows, total = await service.search(
        session, actor, page=page, region=region, states=poverty_state or ()
    )
    items = [
        HouseholdSummary(
            id=h.id,
            region_code=h.region_code,
            head_name=head,
            member_count=count,
            poverty_state=h.poverty_state,
            assistance_type=h.assistance_type,
            monitoring_category=h.monitoring_category,
            primary_cause=h.primary_cause,
            version=h.version,
        )
        for h, head, count in rows
    ]
    return Page(items=items, total=total, page=page.page, size=page.size)


@router.get("/{household_id}", summary="A household with its members")
async def get_household(
    household_id: uuid.UUID, actor: Reader, session: SessionDep, service: ServiceDep
) -> HouseholdOut:
    household, members = await service.get(session, household_id, actor)
    return _out(household, members, actor, service)


@router.patch("/{household_id}", summary="Change household fields")
async def update_household(
    household_id: uuid.UUID,
    body: HouseholdUpdate,
    actor: Writer,
    session: SessionDep,
    service: ServiceDep,
) -> HouseholdOut:
    household, members = await service.update(session, household_id, body, actor)
    return _out(household, members, actor, service)


@router.post(
    "/{household_id}/members",
    status_code=status.HTTP_201_CREATED,
    summary="Add a member (户内人员增加)",
)
async def add_member(
    household_id: uuid.UUID,
    body: MemberCreate,
    actor: Writer,
    session: SessionDep,
    service: ServiceDep,
) -> HouseholdOut:
    household, members, _ = await service.add_member(session, household_id, body, actor)
    return _out(household, members, actor, service)


@router.patch("/{household_id}/members/{member_id}", summary="Change a member's details")
async def update_member(
    household_id: uuid.UUID,
    member_id: uuid.UUID,
    body: MemberUpdate,
    actor: Writer,
    session: SessionDep,
    service: ServiceDep,
) -> HouseholdOut:
    household, members, _ = await service.update_member(
        session, household_id, member_id, body, actor
    )
    return _out(household, members, actor, service)


@router.delete("/{household_id}/members/{member_id}", summary="Remove a member (户内人员减少)")
async def remove_member(
    household_id: uuid.UUID,
    member_id: uuid.UUID,
    actor: Writer,
    session: SessionDep,
    service: ServiceDep,
) -> HouseholdOut:
    household, members = await service.remove_member(session, household_id, member_id, actor)
    return _out(household, members, actor, service)


def _out(
    household: Household, members: list[Member], actor: Principal, service: HouseholdService
) -> HouseholdOut:
    show_pii = actor.has("pii:read")
    head = next((m.name for m in members if m.relation == "head"), None)
    return HouseholdOut(
        id=household.id,
        region_code=household.region_code,
        group_no=household.group_no,
        head_name=head,
        poverty_state=household.poverty_state,
        assistance_type=household.assistance_type,
        monitoring_category=household.monitoring_category,
        causes=household.causes,
        primary_cause=household.primary_cause,
        identified_year=household.identified_year,
        per_capita_net_income=household.per_capita_net_income,
        version=household.version,
        created_at=household.created_at,
        updated_at=household.updated_at,
        members=[
            MemberOut(
                id=m.id,
                name=m.name,
                id_number=service.vault.decrypt(m.id_number_cipher)
                if show_pii
                else m.id_number_masked,
                id_number_masked=not show_pii,
                gender=m.gender,
                birth_date=m.birth_date,
                relation=m.relation,
                labour_capacity=m.labour_capacity,
            )
            for m in members
        ],
    )
