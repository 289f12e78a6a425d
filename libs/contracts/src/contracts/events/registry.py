"""Events published by the registry (建档立卡).

Payloads carry the household's state *after* the change (event-carried state transfer),
so a consumer that skips a stale event still converges on the newest one. Resident ID
numbers are never published (DOMAIN §1.3): members carry the masked form only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from contracts.catalogue import EventSpec
from contracts.enums import (
    AssistanceType,
    Gender,
    LabourCapacity,
    MonitoringCategory,
    PovertyCause,
    PovertyState,
    Relation,
)


class _Payload(BaseModel):
    # Consumers must tolerate fields added later (a non-breaking change), so ignore extras.
    model_config = ConfigDict(extra="ignore", frozen=True)


class MemberSnapshot(_Payload):
    """A member as published: the ID number only masked, never in full."""

    member_id: uuid.UUID
    name: str
    id_number_masked: str
    gender: Gender
    birth_date: dt.date
    relation: Relation
    labour_capacity: LabourCapacity


class HouseholdSnapshot(_Payload):
    """The household as it stands after the change, members included."""

    household_id: uuid.UUID
    region_code: str
    group_no: int | None
    poverty_state: PovertyState
    assistance_type: AssistanceType
    monitoring_category: MonitoringCategory
    causes: list[PovertyCause]
    primary_cause: PovertyCause
    identified_year: int | None
    per_capita_net_income: Decimal | None
    members: list[MemberSnapshot]


class HouseholdCreated(HouseholdSnapshot):
    pass


class HouseholdUpdated(HouseholdSnapshot):
    changed: list[str]


class MemberEvent(_Payload):
    """A member change; ``household`` is the household after it."""

    household_id: uuid.UUID
    region_code: str
    member: MemberSnapshot
    household: HouseholdSnapshot


class MemberAdded(MemberEvent):
    pass


class MemberUpdated(MemberEvent):
    changed: list[str]


class MemberRemoved(MemberEvent):
    pass


def _household_event(name: str, payload: type[BaseModel], description: str) -> EventSpec:
    """Every registry event so far is about a household (members included): its
    ``sequence`` is the household's version."""
    return EventSpec(
        name=f"registry.{name}",
        version=1,
        payload=payload,
        aggregate="household",
        description=description,
        consumers=("gateway",),
    )


HOUSEHOLD_CREATED = _household_event(
    "household.created", HouseholdCreated, "A household was entered in the register (户 建档)."
)
HOUSEHOLD_UPDATED = _household_event(
    "household.updated",
    HouseholdUpdated,
    "Household fields changed (state, assistance type, causes, income …).",
)
MEMBER_ADDED = _household_event(
    "member.added", MemberAdded, "A person joined the household (户内人员增加)."
)
MEMBER_UPDATED = _household_event("member.updated", MemberUpdated, "A member's details changed.")
MEMBER_REMOVED = _household_event(
    "member.removed", MemberRemoved, "A person left the household (户内人员减少)."
)

EVENTS = [HOUSEHOLD_CREATED, HOUSEHOLD_UPDATED, MEMBER_ADDED, MEMBER_UPDATED, MEMBER_REMOVED]
