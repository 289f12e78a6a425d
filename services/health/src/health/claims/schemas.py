"""Claim (结算申请) and settlement (一站式结算) API schemas."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, field_validator, model_validator

from contracts.dates import PolicyDate
from contracts.enums import HospitalLevel, describe
from contracts.money import EnteredMoney, NonNegativeMoney, checked_total
from contracts.text import non_blank
from contracts.validation import FieldsError


class ClaimKind(StrEnum):
    inpatient = "inpatient"  # 住院
    outpatient = "outpatient"  # 门诊 (门诊统筹, 门诊慢性病)


class CostLineIn(BaseModel):
    item: str = Field(min_length=1, max_length=100, description="收费项目")
    amount: EnteredMoney = Field(description="金额 (元)")
    in_catalogue: bool = Field(
        True, description="合规 (in the insurance catalogue); false: 目录外, paid by the patient"
    )
    consent_signed: bool = Field(
        False, description="知情同意 signed: required for every out-of-catalogue line"
    )


class ClaimCreate(BaseModel):
    claim_no: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_./-]*$",
        description="The hospital's claim number (unique: a resubmission is refused)",
    )
    person_id: uuid.UUID = Field(description="Registry member id (户成员) of the patient")
    kind: ClaimKind = Field(description="inpatient (住院) | outpatient (门诊)")
    hospital_name: str = Field(min_length=1, max_length=100, description="医院")
    hospital_level: HospitalLevel = Field(description=describe(HospitalLevel))
    diagnosis_code: str = Field(
        min_length=1, max_length=16, pattern=r"^[A-Z][0-9A-Z.]*$", description="ICD-10 code"
    )
    diagnosis_name: str = Field(min_length=1, max_length=100, description="诊断")
    admitted_on: PolicyDate = Field(description="入院日期 (or the visit's date)")
    discharged_on: PolicyDate = Field(description="出院日期 (settlement date)")
    deposit: EnteredMoney = Field(
        Decimal("0.00"),
        description="押金 taken at admission: must be 0 for 建档立卡 patients (先诊疗后付费)",
    )
    lines: list[CostLineIn] = Field(min_length=1, max_length=1000, description="费用明细")

    @model_validator(mode="after")
    def _dates_in_order(self) -> ClaimCreate:
        if self.discharged_on < self.admitted_on:
            raise FieldsError("discharged_on is before admitted_on", "admitted_on", "discharged_on")
        return self

    @field_validator("lines")
    @classmethod
    def _total_fits(cls, lines: list[CostLineIn]) -> list[CostLineIn]:
        checked_total((line.amount for line in lines), "the claim's total")
        return lines


class ClaimReversal(BaseModel):
    reason: Annotated[str, non_blank(300)] = Field(description="冲销 reason")


class PayersOut(BaseModel):
    bmi: NonNegativeMoney = Field(description="基本医疗保险")
    cii: NonNegativeMoney = Field(description="大病保险")
    ma: NonNegativeMoney = Field(description="医疗救助")
    supplementary: NonNegativeMoney = Field(description="补充保险")
    county_fund: NonNegativeMoney = Field(description="县级兜底资金")
    personal: NonNegativeMoney = Field(description="个人自付")


class SettlementOut(BaseModel):
    number: int = Field(description="1, then 2 after a reversal …")
    payers: PayersOut
    compliant_personal: NonNegativeMoney = Field(description="个人自付 of the compliant cost")
    compliant_personal_ratio: Decimal | None = Field(description="合规费用自付比, 4 places")
    actual_personal_ratio: Decimal | None = Field(description="实际自付比, 4 places")
    terms: dict = Field(description="What was applied: group, deductibles, ratios, caps")
    warnings: list[str]
    settled_at: dt.datetime
    reversed_at: dt.datetime | None = None
    reversal_reason: str | None = None


class ClaimOut(BaseModel):
    id: uuid.UUID
    claim_no: str
    person_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    year: int
    kind: ClaimKind
    hospital_name: str
    hospital_level: HospitalLevel
    diagnosis_code: str
    diagnosis_name: str
    admitted_on: dt.date
    discharged_on: dt.date
    lines: list[CostLineIn]
    total: NonNegativeMoney = Field(description="医疗总费用")
    compliant: NonNegativeMoney = Field(description="合规费用")
    out_of_catalogue: NonNegativeMoney = Field(description="目录外费用")
    status: str = Field(description="settled | reversed")
    settlement: SettlementOut = Field(description="The current (or last) settlement")
    history: list[SettlementOut] = Field(description="Every settlement of the claim, oldest first")
