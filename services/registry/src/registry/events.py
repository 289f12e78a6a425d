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
    )


def household_fields(household: Household, members: list[Member]) -> dict:
    """Fields of a HouseholdSnapshot (used by every registry event payload)."""
    return dict(
        household_id=household.id,
        region_code=household.region_code,
        group_no=household.group_no,
        poverty_state=household.poverty_state,
        assistance_type=household.assistance_type,
        monitoring_category=household.monitoring_category,
        causes=household.causes,
        primary_cause=household.primary_cause,
        identified_year=household.identified_year,
        per_capita_net_income=household.per_capita_net_income,
        members=[member_snapshot(m) for m in members],
    )


def household_snapshot(household: Household, members: list[Member]) -> HouseholdSnapshot:
    return HouseholdSnapshot(**household_fields(household, members))
