"""API schemas of helpers (帮扶责任人), their assignments, visits and compliance reports."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.dates import PolicyDate
from contracts.enums import HelperRank, HelperRole, PovertyState, VisitKind, describe
from contracts.region import RegionCode

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9-]{4,18}[0-9]$"),
    Field(
        description="联系电话 (personal data: shown with pii:read only)", examples=["13809301234"]
    ),
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HelperCreate(_Request):
    name: Name = Field(description="姓名 (a public official: published with their events)")
    rank: HelperRank = Field(description="职级, sets the load limit: " + describe(HelperRank))
    work_unit: Unit = Field(description="帮扶单位", examples=["县农业农村局"])
    phone: Phone | None = None
    region_code: RegionCode = Field(
        description="The helper's area (county, township or village): the households they "
        "help lie inside it"
    )


class HelperUpdate(_Request):
    """Partial update: only the fields sent change."""

    name: Name | None = None
    rank: HelperRank | None = Field(None, description=describe(HelperRank))
    work_unit: Unit | None = None
    phone: Phone | None = None
    active: bool | None = Field(
        None, description="false: no new assignments (end the current ones first)"
    )


class HelperOut(BaseModel):
    id: uuid.UUID
    name: str
    rank: HelperRank
    work_unit: str
    phone: str | None = Field(description="Masked (138****1234) without pii:read")
    phone_masked: bool
    region_code: str
    active: bool
    load: int = Field(description="Households the helper is assigned to now (any role)")
    max_load: int = Field(description="Load limit of the rank (policy parameter)")


class HelperBrief(BaseModel):
    id: uuid.UUID
    name: str
    rank: HelperRank
    work_unit: str


class AssignmentCreate(_Request):
    helper_id: uuid.UUID
    role: HelperRole = Field(
        HelperRole.primary,
        description="`primary` 帮扶责任人 (one per household) or `member` of the 帮扶小组",
    )
    start_date: PolicyDate | None = Field(None, description="Default today; not in the future")
    replace_primary: bool = Field(
        False,
        description="调整帮扶责任人: end the household's current primary helper on start_date "
        "and assign this one (otherwise a second primary is refused with 409)",
    )


class AssignmentEnd(_Request):
    end_date: PolicyDate | None = Field(None, description="Default today; not in the future")
    reason: Reason = Field(description="Why, e.g. 干部调动, 户已清退", examples=["干部调动"])


class AssignmentOut(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    helper: HelperBrief
    role: HelperRole
    start_date: dt.date
    end_date: dt.date | None
    end_reason: str | None
    active: bool


class VisitCreate(_Request):
    helper_id: uuid.UUID
    visit_date: PolicyDate | None = Field(None, description="Default today; not in the future")
    kind: VisitKind = Field(VisitKind.home_visit, description=describe(VisitKind))
    note: Note | None = Field(None, description="What was done or agreed (帮扶内容, 处置)")


class VisitOut(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    helper: HelperBrief
    visit_date: dt.date
    kind: VisitKind
    note: str | None
    recorded_by: str


class ComplianceRow(BaseModel):
    """One primary helper and household in a month: visits against the minimum."""

    helper: HelperBrief
    household_id: uuid.UUID
    region_code: str
    village_name: str | None
    head_name: str | None
    assigned_from: dt.date
    assigned_until: dt.date | None
    visits: int = Field(description="Visits recorded in the month")
    min_visits: int = Field(description="Policy minimum per month")
    visits_below_min: bool


class WithoutHelperRow(BaseModel):
    """A poor household with no active primary helper (the §2.8 invariant is broken)."""

    household_id: uuid.UUID
    region_code: str
    village_name: str | None
    head_name: str | None
    poverty_state: PovertyState
    team_members: int = Field(description="Active 帮扶小组 members (not a primary helper)")
    no_helper: bool = True
