"""Family-doctor (家庭医生签约) API schemas."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from contracts.dates import PolicyDate
from contracts.money import EnteredMoney, NonNegativeMoney
from contracts.text import non_blank
from health.policy import ConditionCode


class ContractCreate(BaseModel):
    person_id: uuid.UUID = Field(description="Registry member id (户成员)")
    doctor_name: str = Field(min_length=1, max_length=50, description="签约家庭医生")
    team: str = Field(min_length=1, max_length=100, description="家庭医生团队")
    institution: str = Field(min_length=1, max_length=100, description="签约机构 (乡镇卫生院 …)")
    signed_on: PolicyDate = Field(description="签约日期 (not in the future)")
    valid_until: PolicyDate = Field(description="Last day of the contract (签约期满)")
    paid: bool = Field(description="有偿签约 (true) or 无偿签约 (false)")
    fee: EnteredMoney = Field(
        Decimal("0.00"),
        validate_default=True,
        description="签约服务费 (元): 0 for a free contract, above 0 if paid",
    )
    chronic_conditions: list[ConditionCode] = Field(
        default_factory=list,
        max_length=20,
        description="慢病 codes from the policy lists `family_doctor.key_chronic_conditions` "
        "(4类慢病) and `family_doctor.other_chronic_conditions` (6类慢病)",
    )

    @field_validator("valid_until")
    @classmethod
    def _after_signing(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        signed_on = info.data.get("signed_on")
        if signed_on is not None and value < signed_on:
            raise ValueError(f"the contract ends before it is signed ({signed_on})")
        return value

    @field_validator("fee")
    @classmethod
    def _fee_matches_paid(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        paid = info.data.get("paid")
        if paid is True and value <= 0:
            raise ValueError("a paid contract (有偿签约) has a fee above 0")
        if paid is False and value != 0:
            raise ValueError("a free contract (无偿签约) has a fee of 0")
        return value

    @field_validator("chronic_conditions")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a code is listed twice")
        return value


class ContractTermination(BaseModel):
    reason: Annotated[str, non_blank(200)] = Field(description="解约 reason (迁出, 死亡 …)")
    on: PolicyDate = Field(description="Last day of the contract (not in the future)")


class ConditionOut(BaseModel):
    code: str
    name: str = Field(description="慢病 name from the policy list")
    key: bool = Field(description="One of the 4类慢病 (owed face-to-face follow-ups)")


class ContractOut(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    person_name: str
    household_id: uuid.UUID
    region_code: str
    doctor_name: str
    team: str
    institution: str
    signed_on: dt.date
    valid_until: dt.date
    paid: bool
    fee: NonNegativeMoney
    chronic_conditions: list[ConditionOut]
    status: str = Field(description="active | ended (解约)")
    in_force: bool = Field(description="Active and today within its period")
    ended_on: dt.date | None = None
    end_reason: str | None = None


class FollowUpCreate(BaseModel):
    on: PolicyDate = Field(description="随访日期, within the contract, not in the future")
    face_to_face: bool = Field(description="面对面随访 (true) or by phone etc.")
    condition: ConditionCode | None = Field(
        None, description="The contracted 慢病 followed up (one of the contract's codes)"
    )
    disposition: str = Field(
        max_length=1000, description="具体处置 (每次随访须有具体处置): required, not blank"
    )

    @field_validator("disposition")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("every follow-up needs a specific disposition (具体处置)")
        return value.strip()


class FollowUpOut(BaseModel):
    id: uuid.UUID
    contract_id: uuid.UUID
    on: dt.date
    face_to_face: bool
    condition: str | None
    disposition: str


class FamilyDoctorRow(BaseModel):
    region_code: str
    persons: int = Field(description="Registry persons living in the region (在户)")
    contracted: int = Field(
        description="Of them, with a contract in force at some time in the year"
    )
    contract_rate: float | None = Field(description="签约率 = contracted / persons")
    contracts: int = Field(description="Contracts in force at some time in the year")
    paid: int = Field(description="Of them, 有偿签约")
    free: int = Field(description="Of them, 无偿签约")
    key_chronic: int = Field(description="Contracted persons with a 4类慢病")
    compliant: int = Field(
        description="Of them, with at least the minimum of face-to-face follow-ups in the year"
    )
    compliance_rate: float | None = Field(description="履约率 = compliant / key_chronic")


class FamilyDoctorReport(BaseModel):
    year: int
    total: FamilyDoctorRow
    regions: list[FamilyDoctorRow] = Field(description="One row per region one level down")


class NonCompliantContract(BaseModel):
    contract_id: uuid.UUID
    person_id: uuid.UUID
    person_name: str
    region_code: str
    doctor_name: str
    team: str
    face_to_face_follow_ups: int = Field(description="Face-to-face follow-ups in the year")
    required: int = Field(description="The minimum of the person's region and the year")
