"""API schemas of households and members (requests are strict: unknown fields → 422)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts import status
from contracts.dates import BirthDate
from contracts.enums import (
    AssistanceType,
    Gender,
    HukouType,
    LabourCapacity,
    MonitoringCategory,
    PovertyCause,
    PovertyState,
    Relation,
    WorkflowStage,
    describe,
)
from contracts.money import EnteredMoney
from contracts.region import RegionCode
from contracts.resident_id import ResidentId
from contracts.validation import FieldsError
from registry.enums import Asset, EducationLevel, IncomeType, PersonGroup
from registry.evidence import Document
from registry.households import rules

PersonName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
    Field(description="姓名"),
]
GroupNo = Annotated[int, Field(ge=1, le=999, description="村民小组 number")]
Year = Annotated[int, Field(ge=1978, le=2100)]
DisabilityLevel = Annotated[int, Field(ge=1, le=4, description="残疾等级 1–4 (残疾证)")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=200)


def _unique(values: list | None, what: str) -> None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError(f"{what} must not repeat")


class _PersonFields(_Request):
    """What is recorded about a person besides identity (DOMAIN §2.1 Person)."""

    hukou: HukouType = Field(HukouType.rural, description="户籍性质: " + describe(HukouType))
    education: EducationLevel | None = Field(
        None, description="文化程度: " + describe(EducationLevel)
    )
    labour_capacity: LabourCapacity = Field(
        LabourCapacity.able, description="劳动能力: " + describe(LabourCapacity)
    )
    disability_level: DisabilityLevel | None = None
    chronic_illness: bool = Field(
        False, description="患慢性病 (flag only; diagnoses stay in health)"
    )
    critical_illness: bool = Field(False, description="患大病 (flag only)")
    migrant_worker: bool = Field(False, description="外出务工")
    groups: list[PersonGroup] = Field(
        default_factory=list, max_length=5, description="特殊群体: " + describe(PersonGroup)
    )


class MemberCreate(_PersonFields):
    name: PersonName
    id_number: ResidentId | None = Field(
        None, description="公民身份号码; omit for a person who has none yet (a newborn)"
    )
    gender: Gender | None = Field(None, description="Required without an ID number")
    birth_date: BirthDate | None = Field(None, description="Required without an ID number")
    relation: Relation = Field(description="与户主关系: " + describe(Relation))

    @model_validator(mode="after")
    def _identity(self) -> MemberCreate:
        _unique(self.groups, "groups")
        if self.id_number is None:
            missing = [f for f in ("gender", "birth_date") if getattr(self, f) is None]
            if missing:
                raise FieldsError(f"without an ID number, give {' and '.join(missing)}", *missing)
        elif self.gender is not None or self.birth_date is not None:
            given = [f for f in ("gender", "birth_date") if getattr(self, f) is not None]
            raise FieldsError("gender and birth_date come from the ID number; omit them", *given)
        return self


def _refuse_nulls(model: BaseModel, required: frozenset[str]) -> None:
    """In a partial update, an omitted field stays; an explicit null may only clear optional ones."""
    nulls = sorted(f for f in model.model_fields_set & required if getattr(model, f) is None)
    if nulls:
        raise ValueError(f"{', '.join(nulls)} cannot be null (omit the field to keep its value)")


class MemberUpdate(_Request):
    """Partial update: only the fields sent change."""

    name: PersonName | None = None
    id_number: ResidentId | None = Field(
        None, description="Only for a person registered without one (id_pending)"
    )
    confirm_birth_date_from_id: bool = Field(
        False,
        description="With id_number: take the ID's birth date although it differs from the "
        "one recorded for the person (otherwise such a contradiction is refused, 422 "
        "BIRTH_DATE_CONTRADICTS_ID)",
    )
    confirm_gender_from_id: bool = Field(
        False,
        description="With id_number: take the ID's gender although it differs from the one "
        "recorded for the person (otherwise such a contradiction is refused, 422 "
        "GENDER_CONTRADICTS_ID)",
    )
    relation: Relation | None = Field(None, description=describe(Relation))
    hukou: HukouType | None = None
    education: EducationLevel | None = None
    labour_capacity: LabourCapacity | None = Field(None, description=describe(LabourCapacity))
    disability_level: DisabilityLevel | None = None
    chronic_illness: bool | None = None
    critical_illness: bool | None = None
    migrant_worker: bool | None = None
    groups: list[PersonGroup] | None = Field(None, max_length=5)

    @model_validator(mode="after")
    def _rules(self) -> MemberUpdate:
        confirmations = {"confirm_birth_date_from_id", "confirm_gender_from_id"}
        if not self.model_fields_set - confirmations:
            raise ValueError("nothing to update")
        for flag in sorted(confirmations):
            if getattr(self, flag) and self.id_number is None:
                raise ValueError(f"{flag} goes with id_number")
        _unique(self.groups, "groups")
        _refuse_nulls(
            self,
            frozenset(
                {
                    "name",
                    "id_number",
                    "relation",
                    "hukou",
                    "labour_capacity",
                    "chronic_illness",
                    "critical_illness",
                    "migrant_worker",
                    "groups",
                }
            ),
        )
        return self


class SurveyData(_Request):
    """入户调查 findings of a year: income, 两不愁 and safe water, 三有, assets."""

    survey_year: Year = Field(description="调查年度")
    income_items: dict[IncomeType, EnteredMoney] = Field(
        default_factory=dict,
        description="家庭年收入 by type (元/年, whole household): " + describe(IncomeType),
    )
    per_capita_net_income: EnteredMoney | None = Field(
        None,
        description="人均纯收入 (元/年). Computed from income_items when they are given "
        "(total ÷ members, half-up to the fen); give it alone when only the total is known",
    )
    food_clothing_secure: bool | None = Field(None, description="不愁吃、不愁穿")
    safe_drinking_water: bool | None = Field(None, description="饮水安全")
    has_electricity: bool | None = Field(None, description="通生活用电")
    has_radio_tv: bool | None = Field(None, description="通广播电视")
    assets: list[Asset] = Field(
        default_factory=list, max_length=5, description="显性财产: " + describe(Asset)
    )
    land_area_mu: Annotated[Decimal, Field(ge=0, le=100000, decimal_places=2)] | None = Field(
        None, description="耕地 (亩)"
    )

    @model_validator(mode="after")
    def _rules(self) -> SurveyData:
        _unique(self.assets, "assets")
        return self


def _check_causes(causes: list[PovertyCause] | None, primary: PovertyCause | None) -> None:
    _unique(causes, "causes")
    if causes is not None and primary is not None:
        rules.check_primary_cause(causes, primary)


class HouseholdCreate(_Request):
    region_code: RegionCode = Field(description="Village (村) code of the household, 12 digits")
    group_no: GroupNo | None = None
    poverty_state: PovertyState = Field(
        PovertyState.candidate,
        description="`candidate` or `applied` for a new case. Entering an existing file in a "
        "later state (存量档案录入) needs `evidence`. " + describe(PovertyState),
    )
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
    survey: SurveyData | None = None
    members: list[MemberCreate] = Field(
        min_length=1, max_length=30, description="Exactly one with relation `head`"
    )
    evidence: list[Document] = Field(
        default_factory=list, max_length=50, description="佐证材料 (required beyond intake)"
    )

    @model_validator(mode="after")
    def _rules(self) -> HouseholdCreate:
        _check_causes(self.causes, self.primary_cause)
        rules.check_one_head(m.relation for m in self.members)
        numbers = [m.id_number for m in self.members if m.id_number]
        if len(set(numbers)) != len(numbers):
            raise FieldsError("the same ID number appears twice among the members", "members")
        rules.check_entry_evidence(self.poverty_state, self.evidence)
        return self


class HouseholdUpdate(_Request):
    """Partial update of descriptive fields. The poverty state changes only through
    transitions (POST /households/{id}/transitions)."""

    group_no: GroupNo | None = None
    assistance_type: AssistanceType | None = Field(None, description=describe(AssistanceType))
    monitoring_category: MonitoringCategory | None = Field(
        None, description=describe(MonitoringCategory)
    )
    causes: list[PovertyCause] | None = Field(None, min_length=1, max_length=13)
    primary_cause: PovertyCause | None = None
    survey: SurveyData | None = Field(None, description="Replaces the recorded survey")

    @model_validator(mode="after")
    def _rules(self) -> HouseholdUpdate:
        _check_causes(self.causes, self.primary_cause)
        if not self.model_fields_set:
            raise ValueError("nothing to update")
        _refuse_nulls(
            self,
            frozenset(
                {"assistance_type", "monitoring_category", "causes", "primary_cause", "survey"}
            ),
        )
        return self


class MemberOut(BaseModel):
    id: uuid.UUID
    name: str
    id_number: str | None = Field(
        description="Full number with pii:read, otherwise masked (6229*************X); "
        "null while id_pending"
    )
    id_number_masked: bool
    id_pending: bool
    gender: Gender
    birth_date: dt.date | None = Field(
        description="出生日期 with pii:read, otherwise null (see birth_year): beside any part "
        "of the ID number the date gives the whole number back"
    )
    birth_year: int = Field(description="出生年份 (for age rules)")
    relation: Relation
    hukou: HukouType
    education: EducationLevel | None
    labour_capacity: LabourCapacity
    disability_level: int | None
    chronic_illness: bool
    critical_illness: bool
    migrant_worker: bool
    groups: list[PersonGroup]


class SurveyOut(BaseModel):
    survey_year: int | None
    income_items: dict[IncomeType, Decimal]
    per_capita_net_income: Decimal | None
    food_clothing_secure: bool | None
    safe_drinking_water: bool | None
    has_electricity: bool | None
    has_radio_tv: bool | None
    assets: list[Asset]
    land_area_mu: Decimal | None


class HouseholdOut(BaseModel):
    id: uuid.UUID
    region_code: str
    group_no: int | None
    head_name: str | None
    poverty_state: PovertyState
    stage: WorkflowStage | None
    assistance_type: AssistanceType
    monitoring_category: MonitoringCategory
    causes: list[PovertyCause]
    primary_cause: PovertyCause
    identified_year: int | None
    planned_exit_year: int | None
    exit_year: int | None
    policy_continuity_until: dt.date | None
    monitored_until: dt.date | None
    survey: SurveyOut | None = Field(description="Income, assets: shown with pii:read only")
    merged_into: uuid.UUID | None
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
    stage: WorkflowStage | None
    assistance_type: AssistanceType
    monitoring_category: MonitoringCategory
    primary_cause: PovertyCause
    planned_exit_year: int | None
    exit_year: int | None
    version: int


class PersonLookup(_Request):
    id_number: ResidentId = Field(description="公民身份号码 (sent in the body, never in a URL)")


class PersonFound(BaseModel):
    household_id: uuid.UUID
    region_code: str
    poverty_state: PovertyState
    member: MemberOut


#: ID numbers one match request may carry (a school's roster is sent in such batches).
MAX_MATCHES = 1000


class PersonMatches(_Request):
    id_numbers: list[ResidentId] = Field(
        min_length=1,
        max_length=MAX_MATCHES,
        description=f"公民身份号码 to match, at most {MAX_MATCHES} (in the body, never in a URL; "
        "not echoed back)",
    )


class PersonMatch(BaseModel):
    """The registry person of the request's ``index``-th number, or ``found: false`` (none,
    or outside the caller's region: not told apart)."""

    index: int
    found: bool
    member_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
    region_code: str | None = None


class PersonMatchesOut(BaseModel):
    matches: list[PersonMatch] = Field(description="One per number, in the request's order")


class StatusSummary(status.HouseholdSummary):
    """The registry's answer at ``GET /households/{id}/summary``: the shared document
    (:class:`contracts.status.HouseholdSummary`), named apart from the search row above."""
