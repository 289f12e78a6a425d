"""API schemas of households and members (requests are strict: unknown fields → 422)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.enums import (
    AssistanceType,
    Gender,
    LabourCapacity,
    MonitoringCategory,
    PovertyCause,
    PovertyState,
    Relation,
    describe,
)
from contracts.money import NonNegativeMoney
from contracts.region import RegionCode
from contracts.resident_id import ResidentId

PersonName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
    Field(description="姓名"),
]
GroupNo = Annotated[int, Field(ge=1, le=999, description="村民小组 number")]
Year = Annotated[int, Field(ge=1978, le=2100)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=200)


class MemberCreate(_Request):
    name: PersonName
    id_number: ResidentId
    relation: Relation = Field(description=describe(Relation))
    labour_capacity: LabourCapacity = Field(
        LabourCapacity.able, description=describe(LabourCapacity)
    )


def _refuse_nulls(model: BaseModel, required: frozenset[str]) -> None:
    """In a partial update, an omitted field stays; an explicit null may only clear optional ones."""
    nulls = sorted(f for f in model.model_fields_set & required if getattr(model, f) is None)
    if nulls:
        raise ValueError(f"{', '.join(nulls)} cannot be null (omit the field to keep its value)")


class MemberUpdate(_Request):
    """Partial update: only the fields sent change."""

    name: PersonName | None = None
    relation: Relation | None = Field(None, description=describe(Relation))
    labour_capacity: LabourCapacity | None = Field(None, description=describe(LabourCapacity))

    @model_validator(mode="after")
    def _rules(self) -> MemberUpdate:
        if not self.model_fields_set:
            raise ValueError("nothing to update")
        _refuse_nulls(self, frozenset({"name", "relation", "labour_capacity"}))
        return self


def _check_causes(causes: list[PovertyCause] | None, primary: PovertyCause | None) -> None:
    if causes is not None and len(set(causes)) != len(causes):
        raise ValueError("causes must not repeat")
    if causes is not None and primary is not None and primary not in causes:
        raise ValueError("primary_cause must be one of causes")


class HouseholdCreate(_Request):
    region_code: RegionCode = Field(description="Village (村) code of the household, 12 digits")
    group_no: GroupNo | None = None
    poverty_state: PovertyState = Field(PovertyState.candidate, description=describe(PovertyState))
    assistance_type: AssistanceType = Field(
        AssistanceType.general, description=describe(AssistanceType)
    )
    monitoring_category: MonitoringCategory = Field(
        MonitoringCategory.none, description=describe(MonitoringCategory)
    )
    causes: list[PovertyCause] = Field(
        min_length=1, max_length=13, description="致贫原因: " + describe(PovertyCause)
    )
    primary_cause: PovertyCause = Field(description="主要致贫原因, one of causes")
    identified_year: Year | None = Field(None, description="识别年度")
    per_capita_net_income: NonNegativeMoney | None = Field(None, description="人均纯收入 (元/年)")
    members: list[MemberCreate] = Field(
        min_length=1, max_length=30, description="Exactly one with relation `head`"
    )

    @model_validator(mode="after")
    def _rules(self) -> HouseholdCreate:
        _check_causes(self.causes, self.primary_cause)
        heads = sum(1 for m in self.members if m.relation == Relation.head)
        if heads != 1:
            raise ValueError(f"a household has exactly one head (户主); got {heads}")
        numbers = [m.id_number for m in self.members]
        if len(set(numbers)) != len(numbers):
            raise ValueError("the same ID number appears twice among the members")
        return self


class HouseholdUpdate(_Request):
    """Partial update: only the fields sent change."""

    group_no: GroupNo | None = None
    poverty_state: PovertyState | None = Field(None, description=describe(PovertyState))
    assistance_type: AssistanceType | None = Field(None, description=describe(AssistanceType))
    monitoring_category: MonitoringCategory | None = Field(
        None, description=describe(MonitoringCategory)
    )
    causes: list[PovertyCause] | None = Field(None, min_length=1, max_length=13)
    primary_cause: PovertyCause | None = None
    identified_year: Year | None = None
    per_capita_net_income: NonNegativeMoney | None = None

    @model_validator(mode="after")
    def _rules(self) -> HouseholdUpdate:
        _check_causes(self.causes, self.primary_cause)
        if not self.model_fields_set:
            raise ValueError("nothing to update")
        _refuse_nulls(
            self,
            frozenset(
                {
                    "poverty_state",
                    "assistance_type",
                    "monitoring_category",
                    "causes",
                    "primary_cause",
                }
            ),
        )
        return self


class MemberOut(BaseModel):
    id: uuid.UUID
    name: str
    id_number: str = Field(
        description="Full number with pii:read, otherwise masked (6229**********123X)"
    )
    id_number_masked: bool
    gender: Gender
    birth_date: dt.date
    relation: Relation
    labour_capacity: LabourCapacity


class HouseholdOut(BaseModel):
    id: uuid.UUID
    region_code: str
    group_no: int | None
    head_name: str | None
    poverty_state: PovertyState
    assistance_type: AssistanceType
    monitoring_category: MonitoringCategory
    causes: list[PovertyCause]
    primary_cause: PovertyCause
    identified_year: int | None
    per_capita_net_income: Decimal | None
    version: int = Field(description="Aggregate version; the sequence of the latest event")
    members: list[MemberOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class HouseholdSummary(BaseModel):
    id: uuid.UUID
    region_code: str
    head_name: str | None
    member_count: int
    poverty_state: PovertyState
    assistance_type: AssistanceType
    monitoring_category: MonitoringCategory
    primary_cause: PovertyCause
    version: int
