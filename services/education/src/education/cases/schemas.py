"""劝返 case (控辍保学) API schemas."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, Field

from contracts.dates import PolicyDate
from contracts.enums import DropoutCaseOutcome, DropoutCaseStatus, describe
from contracts.text import non_blank

PersonName = Annotated[str, non_blank(50)]
Evidence = Annotated[str, non_blank(200)]


class CaseCreate(BaseModel):
    student_id: uuid.UUID = Field(description="The student out of school (学籍 id)")
    responsible_person: PersonName | None = Field(
        None, description="劝返责任人 (default: the student's responsible teacher)"
    )
    opened_on: PolicyDate | None = Field(None, description="Default: today; not in the future")


class CaseUpdate(BaseModel):
    """Only the fields given change."""

    responsible_person: PersonName | None = Field(None, description="劝返责任人")
    due_on: PolicyDate | None = Field(None, description="劝返 due by; not before the opening")


class VisitCreate(BaseModel):
    visited_on: PolicyDate = Field(description="The day of the visit (入户劝返)")
    visited_by: PersonName = Field(description="Who visited")
    notes: Annotated[str, non_blank(1000)] = Field(description="What was said or agreed")
    next_step: Annotated[str, non_blank(200)] | None = Field(None, description="下一步")


class CaseClose(BaseModel):
    outcome: DropoutCaseOutcome = Field(description=describe(DropoutCaseOutcome))
    evidence: Evidence | None = Field(
        None,
        description="佐证资料 of the outcome (where it is kept); required for "
        "`alternative_mode` and `exempt`",
    )
    closed_on: PolicyDate | None = Field(None, description="Default: today; not in the future")


class VisitOut(BaseModel):
    id: uuid.UUID
    visited_on: dt.date
    visited_by: str
    notes: str
    next_step: str | None


class CaseOut(BaseModel):
    id: uuid.UUID
    student_id: uuid.UUID
    person_id: uuid.UUID
    person_name: str
    household_id: uuid.UUID
    region_code: str
    responsible_person: str
    opened_on: dt.date
    due_on: dt.date
    status: DropoutCaseStatus
    overdue: bool = Field(description="Open past its due date, today")
    outcome: DropoutCaseOutcome | None
    evidence: str | None
    closed_on: dt.date | None
    visits: int = Field(description="Visits recorded")
    version: int


class CaseDetail(CaseOut):
    visit_log: list[VisitOut] = Field(description="The visits, oldest first")
