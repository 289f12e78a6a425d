"""Dialysis (血液透析) API schemas."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, Field

from contracts.dates import PolicyDate
from contracts.money import MoneyTotal, NonNegativeMoney
from contracts.text import non_blank


class DialysisPatientCreate(BaseModel):
    person_id: uuid.UUID = Field(description="Registry member id (户成员)")
    started_on: PolicyDate = Field(description="First dialysis (not in the future)")
    facility: str = Field(min_length=1, max_length=100, description="透析医院")


class DialysisEnd(BaseModel):
    on: PolicyDate = Field(description="Last day of the dialysis course (not in the future)")
    reason: Annotated[str, non_blank(200)] = Field(description="肾移植, 死亡, 迁出 …")


class DialysisPatientOut(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    person_name: str
    household_id: uuid.UUID
    region_code: str
    started_on: dt.date
    facility: str
    status: str = Field(description="open | ended")
    ended_on: dt.date | None = None
    end_reason: str | None = None


class SessionCreate(BaseModel):
    on: PolicyDate = Field(description="透析日期: within the course, not in the future")
    facility: str | None = Field(
        None, min_length=1, max_length=100, description="Default: the patient's facility"
    )


class SessionOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    on: dt.date
    facility: str
    subsidy: NonNegativeMoney = Field(
        description="县级透析补助: `dialysis.subsidy_per_session` of the region and year"
    )


class DialysisRow(BaseModel):
    region_code: str
    patients: int = Field(description="Patients with at least one session in the year")
    sessions: int = Field(description="Sessions in the year")
    subsidy_total: MoneyTotal = Field(description="Sum of the sessions' subsidies (元)")


class DialysisReport(BaseModel):
    year: int
    total: DialysisRow
    regions: list[DialysisRow] = Field(description="One row per region one level down")
