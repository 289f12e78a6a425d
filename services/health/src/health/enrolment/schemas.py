"""Enrolment (参保) API schemas."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, Field

from contracts.dates import PolicyYear
from contracts.money import MoneyTotal, NonNegativeMoney
from contracts.text import non_blank
from health.enrolment.eligibility import SubsidyCategory


class EnrolmentCreate(BaseModel):
    person_id: uuid.UUID = Field(description="Registry member id (户成员)")
    year: PolicyYear = Field(description="参保年度")


class HouseholdEnrolmentCreate(BaseModel):
    year: PolicyYear = Field(description="参保年度")


class EnrolmentCancel(BaseModel):
    reason: Annotated[str, non_blank(200)] = Field(description="退保 reason (death, moved …)")


class EnrolmentOut(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    person_name: str
    household_id: uuid.UUID
    region_code: str
    year: int
    status: str = Field(description="active | cancelled")
    premium: NonNegativeMoney = Field(description="个人缴费标准")
    subsidy: NonNegativeMoney = Field(description="资助参保: paid for the person")
    personal_premium: NonNegativeMoney = Field(description="What the person pays")
    subsidy_categories: list[SubsidyCategory] = Field(
        description="四类人员 categories the person belongs to (empty: not subsidised)"
    )
    enrolled_on: dt.date
    cancelled_on: dt.date | None = None
    cancel_reason: str | None = None


class ParticipationRow(BaseModel):
    region_code: str
    persons: int = Field(description="Registry persons living in the region (在户)")
    enrolled: int = Field(description="Of them, insured this year (参保)")
    participation_rate: float | None = Field(description="参保率 = enrolled / persons")
    subsidised: int = Field(description="Enrolled with the premium paid for them (资助参保)")
    subsidy_total: MoneyTotal = Field(description="资助金额 (元)")
    premium_total: MoneyTotal = Field(description="Premiums of the enrolled (元)")


class ParticipationReport(BaseModel):
    year: int
    total: ParticipationRow
    regions: list[ParticipationRow] = Field(description="One row per region one level down")
