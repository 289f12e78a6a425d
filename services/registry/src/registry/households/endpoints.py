"""Household and member endpoints: parse, authorise, call the service, shape the response."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from contracts.enums import AssistanceType, MonitoringCategory, PovertyCause, PovertyState, describe
from contracts.region import RegionCode
from kit.app import ReadSessionDep, SessionDep
from kit.audit import AuditEntry
from kit.auth import Principal, region_filter
from kit.errors import PROBLEM_RESPONSES
from kit.pagination import Page, Paging
from registry.auth import RegistryRead, RegistryWrite, StatusRead
from registry.households.schemas import (
    HouseholdCreate,
    HouseholdOut,
    HouseholdSummary,
    HouseholdUpdate,
    MemberCreate,
    MemberOut,
    MemberUpdate,
    PersonFound,
    PersonLookup,
    PersonMatch,
    PersonMatches,
    PersonMatchesOut,
    StatusSummary,
    SurveyOut,
)
from registry.households.service import HouseholdService
from registry.models import Household, Member
from registry.pii import IdNumberVault

router = APIRouter(tags=["households"], responses=PROBLEM_RESPONSES)


async def get_service(request: Request) -> HouseholdService:
    return HouseholdService(request.app.state.vault, request.app.state.clock)


ServiceDep = Annotated[HouseholdService, Depends(get_service)]


@router.post(
    "/households",
    status_code=status.HTTP_201_CREATED,
    summary="Register a household with its members (建档)",
)
async def create_household(
    body: HouseholdCreate, actor: RegistryWrite, session: SessionDep, service: ServiceDep
) -> HouseholdOut:
    household, members = await service.create(session, body, actor)
    return household_out(household, members, actor, service.vault)


@router.get("/households", summary="Search households in your region")
async def list_households(
    actor: RegistryRead,
    session: ReadSessionDep,
    service: ServiceDep,
    page: Paging,
    region: Annotated[RegionCode | None, Query(description="Only this region's subtree")] = None,
    poverty_state: Annotated[
        list[PovertyState] | None, Query(description=describe(PovertyState))
    ] = None,
    cause: Annotated[
        list[PovertyCause] | None,
        Query(description="Any of these causes: " + describe(PovertyCause)),
    ] = None,
    monitoring_category: Annotated[
        list[MonitoringCategory] | None, Query(description=describe(MonitoringCategory))
    ] = None,
    assistance_type: Annotated[
        list[AssistanceType] | None, Query(description=describe(AssistanceType))
    ] = None,
    name: Annotated[
        str | None,
        Query(min_length=1, max_length=50, description="A member's name starts with this"),
    ] = None,
    planned_exit_year: Annotated[
        int | None,
        Query(
            ge=1978,
            le=2100,
            description="拟脱贫计划: households planned to exit in this year (with their stage, "
            "or exited once approved)",
        ),
    ] = None,
) -> Page[HouseholdSummary]:
    rows, total = await service.search(
        session,
        actor,
        page=page,
        region=region_filter(actor, region),
        states=poverty_state or (),
        causes=cause or (),
        categories=monitoring_category or (),
        assistance=assistance_type or (),
        name=name,
        planned_exit_year=planned_exit_year,
    )
    items = [HouseholdSummary(**row) for row in rows]
    return Page(items=items, total=total, page=page.page, size=page.size)


@router.post(
    "/persons/lookup",
    summary="Find a person by resident ID number (through its keyed hash)",
    description="The number travels in the body so that it never lands in access logs.",
)
async def lookup_person(
    body: PersonLookup, actor: RegistryRead, session: ReadSessionDep, service: ServiceDep
) -> PersonFound:
    household, member = await service.find_person(session, body.id_number, actor)
    return PersonFound(
        household_id=household.id,
        region_code=household.region_code,
        poverty_state=household.poverty_state,
        member=member_out(member, actor, service.vault),
    )


@router.post(
    "/persons/matches",
    summary="Match many resident ID numbers to persons at once (through their keyed hashes)",
    description="For each number of the body (at most 1000), in order: the member id, "
    "household id and region of the person, or `found: false` (unknown, or outside your "
    "region: not told apart). The numbers travel in the body and are not echoed back. What "
    "another service's bulk matching calls, e.g. education's roster import (学籍比对).",
)
async def match_persons(
    body: PersonMatches, actor: RegistryRead, session: ReadSessionDep, service: ServiceDep
) -> PersonMatchesOut:
    found = await service.match_persons(session, body.id_numbers, actor)
    return PersonMatchesOut(
        matches=[
            PersonMatch(index=i, found=False)
            if person is None
            else PersonMatch(
                index=i,
                found=True,
                member_id=person.member_id,
                household_id=person.household_id,
                region_code=person.region_code,
            )
            for i, person in enumerate(found)
        ]
    )


@router.get("/households/{household_id}", summary="A household with its members")
async def get_household(
    household_id: uuid.UUID, actor: RegistryRead, session: ReadSessionDep, service: ServiceDep
) -> HouseholdOut:
    household, members = await service.get(session, household_id, actor)
    return household_out(household, members, actor, service.vault)


@router.get(
    "/households/{household_id}/summary",
    summary="The registry's dimensions and current facts of a household",
    description="收入 (一超), 不愁吃穿 and 饮水安全 as the registry decides them from the latest "
    "入户调查 and the poverty line in force (`ok`, `not_ok` with a reason, or `unknown`: no "
    "survey, not surveyed, or a survey older than last year), plus the poverty state, "
    "assistance type, monitoring category, unresolved risk alerts, the current 帮扶小组 and "
    "the visits of the last 30 days. What the gateway asks for a fresh status; no income "
    "figures or other personal data.",
)
async def household_summary(
    household_id: uuid.UUID, actor: StatusRead, session: ReadSessionDep, service: ServiceDep
) -> StatusSummary:
    return await service.summary(session, household_id, actor)


@router.get(
    "/households/{household_id}/history",
    summary="Every change of the household: who, when, before and after",
)
async def household_history(
    household_id: uuid.UUID, actor: RegistryRead, session: ReadSessionDep, service: ServiceDep
) -> list[AuditEntry]:
    return await service.history(session, household_id, actor)


@router.patch("/households/{household_id}", summary="Change household fields")
async def update_household(
    household_id: uuid.UUID,
    body: HouseholdUpdate,
    actor: RegistryWrite,
    session: SessionDep,
    service: ServiceDep,
) -> HouseholdOut:
    household, members = await service.update(session, household_id, body, actor)
    return household_out(household, members, actor, service.vault)


@router.post(
    "/households/{household_id}/members",
    status_code=status.HTTP_201_CREATED,
    summary="Add a member (户内人员增加)",
)
async def add_member(
    household_id: uuid.UUID,
    body: MemberCreate,
    actor: RegistryWrite,
    session: SessionDep,
    service: ServiceDep,
) -> HouseholdOut:
    household, members, _ = await service.add_member(session, household_id, body, actor)
    return household_out(household, members, actor, service.vault)


@router.patch("/households/{household_id}/members/{member_id}", summary="Change a member's details")
async def update_member(
    household_id: uuid.UUID,
    member_id: uuid.UUID,
    body: MemberUpdate,
    actor: RegistryWrite,
    session: SessionDep,
    service: ServiceDep,
) -> HouseholdOut:
    household, members, _ = await service.update_member(
        session, household_id, member_id, body, actor
    )
    return household_out(household, members, actor, service.vault)


@router.delete(
    "/households/{household_id}/members/{member_id}", summary="Remove a member (户内人员减少)"
)
async def remove_member(
    household_id: uuid.UUID,
    member_id: uuid.UUID,
    actor: RegistryWrite,
    session: SessionDep,
    service: ServiceDep,
) -> HouseholdOut:
    household, members = await service.remove_member(session, household_id, member_id, actor)
    return household_out(household, members, actor, service.vault)


def member_out(member: Member, actor: Principal, vault: IdNumberVault) -> MemberOut:
    show_pii = actor.has("pii:read")
    if member.id_number_cipher is None:
        number = None
    else:
        number = vault.decrypt(member.id_number_cipher) if show_pii else member.id_number_masked
    return MemberOut(
        id=member.id,
        name=member.name,
        id_number=number,
        id_number_masked=not show_pii,
        id_pending=member.id_pending,
        gender=member.gender,
        birth_date=member.birth_date if show_pii else None,
        birth_year=member.birth_date.year,
        relation=member.relation,
        hukou=member.hukou,
        education=member.education,
        labour_capacity=member.labour_capacity,
        disability_level=member.disability_level,
        chronic_illness=member.chronic_illness,
        critical_illness=member.critical_illness,
        migrant_worker=member.migrant_worker,
        groups=member.groups,
    )


def household_out(
    household: Household, members: list[Member], actor: Principal, vault: IdNumberVault
) -> HouseholdOut:
    head = next((m.name for m in members if m.relation == "head"), None)
    survey = None
    if actor.has("pii:read"):  # income and assets are personal data (DOMAIN §9)
        survey = SurveyOut(
            survey_year=household.survey_year,
            income_items={k: Decimal(v) for k, v in household.income_items.items()},
            per_capita_net_income=household.per_capita_net_income,
            food_clothing_secure=household.food_clothing_secure,
            safe_drinking_water=household.safe_drinking_water,
            has_electricity=household.has_electricity,
            has_radio_tv=household.has_radio_tv,
            assets=household.assets,
            land_area_mu=household.land_area_mu,
        )
    return HouseholdOut(
        id=household.id,
        region_code=household.region_code,
        group_no=household.group_no,
        head_name=head,
        poverty_state=household.poverty_state,
        stage=household.stage,
        assistance_type=household.assistance_type,
        monitoring_category=household.monitoring_category,
        causes=household.causes,
        primary_cause=household.primary_cause,
        identified_year=household.identified_year,
        planned_exit_year=household.planned_exit_year,
        exit_year=household.exit_year,
        policy_continuity_until=household.policy_continuity_until,
        monitored_until=household.monitored_until,
        survey=survey,
        merged_into=household.merged_into,
        version=household.version,
        created_at=household.created_at,
        updated_at=household.updated_at,
        members=[member_out(m, actor, vault) for m in members],
    )
