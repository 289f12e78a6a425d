"""Compulsory-education check (义务教育 排查) API schemas: counts and names, no ID numbers
or birth dates."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from contracts.enums import EnrolmentStatus, SchoolStage
from contracts.status import Reason


class UnschooledChild(BaseModel):
    person_id: uuid.UUID
    person_name: str
    household_id: uuid.UUID
    region_code: str = Field(description="The village the child lives in")
    age: int = Field(description="Full years today")
    reason: Reason = Field(
        description="`DROPOUT` (辍学), `OUT_OF_SCHOOL` (a 学籍, neither enrolled nor in an "
        "evidenced alternative mode) or `NO_STUDENT_RECORD` (no 学籍 matched)"
    )
    student_id: uuid.UUID | None = Field(None, description="The 学籍, if one is matched")
    school_name: str | None = None
    stage: SchoolStage | None = None
    enrolment_status: EnrolmentStatus | None = None
    status_since: dt.date | None = None
    open_case_id: uuid.UUID | None = Field(None, description="The open 劝返 case, if any")


class VillageCount(BaseModel):
    region_code: str
    dropped_out: int
    out_of_school: int
    no_student_record: int
    total: int


class SchoolCount(BaseModel):
    school_name: str
    dropped_out: int
    out_of_school: int
    total: int


class CompulsoryCheck(BaseModel):
    region_code: str
    on: dt.date = Field(description="Today: ages and statuses as of this day")
    total: int = Field(description="Compulsory-age members out of school in the region")
    by_village: list[VillageCount] = Field(description="Counts per village (region code)")
    by_school: list[SchoolCount] = Field(description="Counts per school, of those with a 学籍")
    items: list[UnschooledChild] = Field(description="This page of the list, by village")
    page: int
    size: int
