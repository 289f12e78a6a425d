"""The registry's outbox and the event payloads built from its tables."""

from __future__ import annotations

from contracts.events.registry import HouseholdSnapshot, MemberSnapshot
from kit.outbox import Outbox
from registry.models import Household, Member, outbox_table

outbox = Outbox(outbox_table, service="registry")


def member_snapshot(member: Member) -> MemberSnapshot:
    return MemberSnapshot(
        member_id=member.id,
        name=member.name,
        id_number_masked=member.id_number_masked,
        gender=member.gender,
        birth_date=member.birth_date,
        relation=member.relation,
        labour_capacity=member.labour_capacity,
        hukou=member.hukou,
        disability_level=member.disability_level,
        chronic_illness=member.chronic_illness,
        critical_illness=member.critical_illness,
        migrant_worker=member.migrant_worker,
    )


def household_fields(household: Household, members: list[Member]) -> dict:
    """Fields of a HouseholdSnapshot (used by every registry event payload)."""
    return dict(
        household_id=household.id,
        region_code=household.region_code,
        group_no=household.group_no,
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
        survey_year=household.survey_year,
        per_capita_net_income=household.per_capita_net_income,
        food_clothing_secure=household.food_clothing_secure,
        safe_drinking_water=household.safe_drinking_water,
        has_electricity=household.has_electricity,
        has_radio_tv=household.has_radio_tv,
        merged_into=household.merged_into,
        members=[member_snapshot(m) for m in members],
    )


def household_snapshot(household: Household, members: list[Member]) -> HouseholdSnapshot:
    return HouseholdSnapshot(**household_fields(household, members))
