"""Aid grant (教育资助) API schemas."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from contracts.dates import PolicyDate, PolicyYear
from contracts.enums import AidProgramme, SchoolStage, SchoolTerm, describe
from contracts.money import NonNegativeMoney
from contracts.text import non_blank

PaymentReference = Annotated[str, non_blank(50)]


class GrantCreate(BaseModel):
    student_id: uuid.UUID = Field(description="The student (学籍) paid")
    programme: AidProgramme = Field(description=describe(AidProgramme))
    school_year: PolicyYear = Field(description="学年 paid for, named by the year it begins")
    term: SchoolTerm = Field(description=describe(SchoolTerm))
    amount: NonNegativeMoney = Field(gt=0, description="元 paid")
    paid_on: PolicyDate = Field(description="发放日期 (not in the future)")
    payment_reference: PaymentReference = Field(
        description="发放凭证号: once a programme (409 `GRANT_REFERENCE_TAKEN`)"
    )


class GrantOut(BaseModel):
    id: uuid.UUID
    student_id: uuid.UUID
    person_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    programme: AidProgramme
    stage: SchoolStage = Field(description="The student's 学段 when paid")
    school_year: int
    term: SchoolTerm
    amount: Decimal = Field(description="元")
    paid_on: dt.date
    payment_reference: str
    created_by: str
