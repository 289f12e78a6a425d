"""Events published by the registry (建档立卡).

Payloads carry the household's state *after* the change (event-carried state transfer),
so a consumer that skips a stale event still converges on the newest one. Resident ID
numbers are never published, not even masked (DOMAIN §1.3): a masked number beside the
exact birth date gives the full number back, and consumers need the birth date (exact
ages), so members carry only whether the person has an ID number yet.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.catalogue import EventSpec
from contracts.enums import (
    AdjustmentKind,
    AlertAssessment,
    AlertKind,
    AlertStatus,
    AssistanceType,
    Gender,
    HelperRank,
    HelperRole,
    HukouType,
    LabourCapacity,
    MonitoringCategory,
    ObjectionStatus,
    PovertyCause,
    PovertyState,
    PublicityPurpose,
    RegionLevel,
    Relation,
    VisitKind,
    WorkflowStage,
)
from contracts.status import DimensionFact


class _Payload(BaseModel):
    # Consumers must tolerate fields added later (a non-breaking change), so ignore extras.
    model_config = ConfigDict(extra="ignore", frozen=True)


class MemberSnapshot(_Payload):
    """A member as published: no part of the ID number, only whether there is one."""

    member_id: uuid.UUID
    name: str
    has_id_number: bool = Field(
        description="False while the person has no ID number yet (id_pending: a newborn, "
        "户口 pending), which is normal: every consumer must take such a member. Events "
        "published before this field carry id_number_masked (null: none) instead"
    )
    gender: Gender
    birth_date: dt.date
    relation: Relation
    labour_capacity: LabourCapacity
    hukou: HukouType = HukouType.rural
    disability_level: int | None = None
    chronic_illness: bool = False
    critical_illness: bool = False
    migrant_worker: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_masked_number(cls, data: Any) -> Any:
        """Events published before ``has_id_number`` carry ``id_number_masked`` (None while
        id_pending) instead; they stay on the streams and are still applied."""
        if isinstance(data, dict) and "has_id_number" not in data and "id_number_masked" in data:
            return {**data, "has_id_number": data["id_number_masked"] is not None}
        return data


class HouseholdSnapshot(_Payload):
    """The household as it stands after the change, members included."""

    household_id: uuid.UUID
    region_code: str
    group_no: int | None
    poverty_state: PovertyState
    stage: WorkflowStage | None = None
    assistance_type: AssistanceType
    monitoring_category: MonitoringCategory
    causes: list[PovertyCause]
    primary_cause: PovertyCause
    identified_year: int | None
    planned_exit_year: int | None = None
    exit_year: int | None = None
    policy_continuity_until: dt.date | None = None
    monitored_until: dt.date | None = None
    # 一超两不愁 and safe water, from the latest survey (the gateway's registry dimensions)
    survey_year: int | None = None
    per_capita_net_income: Decimal | None
    food_clothing_secure: bool | None = None
    safe_drinking_water: bool | None = None
    has_electricity: bool | None = None
    has_radio_tv: bool | None = None
    merged_into: uuid.UUID | None = None
    members: list[MemberSnapshot]
    #: The registry's own dimensions (income, food_clothing, water) as it decides them
    #: from the survey and the poverty line in force (DOMAIN §1.5).
    dimensions: dict[str, DimensionFact] = {}


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


class StateChanged(HouseholdSnapshot):
    """A workflow step moved the household (识别, 退出, 动态调整); the snapshot is after it."""

    action: str
    from_state: PovertyState
    from_stage: WorkflowStage | None
    on_date: dt.date


class HouseholdAdjusted(HouseholdSnapshot):
    """A 动态调整 took effect (the household after it)."""

    kind: AdjustmentKind
    effective_month: dt.date
    reason: str | None
    #: Persons who joined or left this household with the adjustment (member ids; a
    #: person moving between households keeps their id).
    members_joined: list[uuid.UUID] = []
    members_left: list[uuid.UUID] = []
    #: The other household of a 并户 or a move between households.
    related_household_id: uuid.UUID | None = None


class PublicityEvent(_Payload):
    """A 公示 window of one household."""

    publicity_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    purpose: PublicityPurpose
    stage: WorkflowStage
    start_date: dt.date
    end_date: dt.date
    status: str


class ObjectionEvent(_Payload):
    """An objection (异议) to a household's 公示."""

    objection_id: uuid.UUID
    publicity_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    received_on: dt.date
    status: ObjectionStatus
    consequence: str | None = None


def _household_event(
    name: str,
    payload: type[BaseModel],
    description: str,
    consumers: tuple[str, ...] = ("gateway",),
) -> EventSpec:
    """Every registry event is about one household (members included): its ``sequence``
    is the household's version."""
    return EventSpec(
        name=f"registry.{name}",
        version=1,
        payload=payload,
        aggregate="household",
        description=description,
        consumers=consumers,
    )


#: Who projects whole households: the gateway (status), health (whom the premium subsidy
#: and the settlement terms are for) and education (whose children are of compulsory age).
HOUSEHOLD_CONSUMERS = ("gateway", "health", "education")

HOUSEHOLD_CREATED = _household_event(
    "household.created",
    HouseholdCreated,
    "A household was entered in the register (户 建档).",
    HOUSEHOLD_CONSUMERS,
)
HOUSEHOLD_UPDATED = _household_event(
    "household.updated",
    HouseholdUpdated,
    "Household fields changed (state, assistance type, causes, income …).",
    HOUSEHOLD_CONSUMERS,
)
MEMBER_ADDED = _household_event(
    "member.added",
    MemberAdded,
    "A person joined the household (户内人员增加).",
    HOUSEHOLD_CONSUMERS,
)
MEMBER_UPDATED = _household_event(
    "member.updated", MemberUpdated, "A member's details changed.", HOUSEHOLD_CONSUMERS
)
MEMBER_REMOVED = _household_event(
    "member.removed",
    MemberRemoved,
    "A person left the household (户内人员减少).",
    HOUSEHOLD_CONSUMERS,
)
HOUSEHOLD_STATE_CHANGED = _household_event(
    "household.state_changed",
    StateChanged,
    "A workflow step changed the poverty state or stage (申请, 调查, 评议, 公示, 建档立卡, "
    "退出, 清退, 返贫 …), with the actor's evidence kept in the registry.",
    HOUSEHOLD_CONSUMERS,
)
HOUSEHOLD_ADJUSTED = _household_event(
    "household.adjusted",
    HouseholdAdjusted,
    "A dynamic adjustment (动态调整) took effect: kind and effective month.",
    HOUSEHOLD_CONSUMERS,
)
PUBLICITY_OPENED = _household_event(
    "publicity.opened", PublicityEvent, "A 公示 window opened for a household.", ()
)
PUBLICITY_CLOSED = _household_event(
    "publicity.closed",
    PublicityEvent,
    "A 公示 window ended: `closed` (moved on) or `withdrawn` (objection upheld).",
    (),
)
OBJECTION_FILED = _household_event(
    "publicity.objection_filed", ObjectionEvent, "An objection (异议) was received.", ()
)
OBJECTION_RESOLVED = _household_event(
    "publicity.objection_resolved",
    ObjectionEvent,
    "An objection was verified: upheld (back to survey, or rejected) or dismissed.",
    (),
)

#: Events carrying the whole household as it is after them.
SNAPSHOT_EVENTS = (
    HOUSEHOLD_CREATED,
    HOUSEHOLD_UPDATED,
    HOUSEHOLD_STATE_CHANGED,
    HOUSEHOLD_ADJUSTED,
)
#: Member changes: ``household`` is the whole household after the change.
MEMBER_EVENTS = (MEMBER_ADDED, MEMBER_UPDATED, MEMBER_REMOVED)


EVENTS = [
    HOUSEHOLD_CREATED,
    HOUSEHOLD_UPDATED,
    MEMBER_ADDED,
    MEMBER_UPDATED,
    MEMBER_REMOVED,
    HOUSEHOLD_STATE_CHANGED,
    HOUSEHOLD_ADJUSTED,
    PUBLICITY_OPENED,
    PUBLICITY_CLOSED,
    OBJECTION_FILED,
    OBJECTION_RESOLVED,
]


# --- 防返贫监测: risk alerts -------------------------------------------------------------


class AlertEvent(_Payload):
    """A risk alert (返贫致贫风险) of one household, as it stands after the change."""

    alert_id: uuid.UUID
    household_id: uuid.UUID
    person_id: uuid.UUID | None
    region_code: str
    kind: AlertKind
    status: AlertStatus
    #: Monitoring category given to the household (on raising, or by the assessment).
    category: MonitoringCategory | None
    assessment: AlertAssessment | None = None
    raised_on: dt.date
    due_date: dt.date
    #: The department event that raised it (None for a manual alert).
    source_service: str | None
    source_event_type: str | None
    source_event_id: str | None


class AlertRaised(AlertEvent):
    pass


class AlertStatusChanged(AlertEvent):
    from_status: AlertStatus
    on_date: dt.date


ALERT_RAISED = _household_event(
    "alert.raised",
    AlertRaised,
    "A risk alert (返贫致贫风险) was raised for a household: by another department's event "
    "(high medical cost, critical illness, dialysis, C/D house, dropout, disaster) or by hand.",
)
ALERT_STATUS_CHANGED = _household_event(
    "alert.status_changed",
    AlertStatusChanged,
    "A risk alert moved on: open → assessed (研判, category) → assisted (帮扶) → closed (解除).",
)

EVENTS += [ALERT_RAISED, ALERT_STATUS_CHANGED]
# --- helpers (帮扶责任人) and visits -----------------------------------------------------------


class HelperAssignmentEvent(_Payload):
    """A helper joined or left a household's 帮扶小组. Helpers are public officials, so their
    name, rank and unit are published; their phone and the household's data are not."""

    assignment_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    helper_id: uuid.UUID
    helper_name: str
    helper_rank: HelperRank
    work_unit: str
    role: HelperRole
    start_date: dt.date
    end_date: dt.date | None = None
    end_reason: str | None = None


class HelperVisitLogged(_Payload):
    """A helper's visit (帮扶记录) was recorded; the note stays in the registry."""

    visit_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    helper_id: uuid.UUID
    helper_name: str
    visit_date: dt.date
    kind: VisitKind


HELPER_ASSIGNED = _household_event(
    "helper.assigned",
    HelperAssignmentEvent,
    "A helper (帮扶责任人, or a 帮扶小组 member) was assigned to a household.",
)
HELPER_UNASSIGNED = _household_event(
    "helper.unassigned",
    HelperAssignmentEvent,
    "A helper's assignment to a household ended (调整, 撤出); `end_date` says when.",
)
HELPER_VISIT_LOGGED = _household_event(
    "helper.visit_logged",
    HelperVisitLogged,
    "A helper's visit to a household (入户走访, 电话 …) was recorded (帮扶记录).",
)

EVENTS += [HELPER_ASSIGNED, HELPER_UNASSIGNED, HELPER_VISIT_LOGGED]


# --- regions (行政区划): reference data the gateway's statistics need ------------------------


class RegionUpdated(_Payload):
    """A region as it stands after the change: names for statistics, populations for the
    incidence rate (贫困发生率)."""

    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    population: int | None = None  # 户籍人口 (the default incidence denominator)
    total_population: int | None = None  # 总人口
    key_poor_village: bool = False


REGION_UPDATED = EventSpec(
    name="registry.region.updated",
    version=1,
    payload=RegionUpdated,
    aggregate="region",
    description="A region (行政区划) was added or changed: name, level, populations. Its "
    "`sequence` is the region's version.",
    consumers=("gateway",),
)

EVENTS += [REGION_UPDATED]
