"""Student (学籍) API schemas."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, Field

from contracts.dates import PolicyDate
from contracts.enums import EnrolmentStatus, SchoolStage, describe
from contracts.text import non_blank

SchoolName = Annotated[str, non_blank(100)]
TeacherName = Annotated[str, non_blank(50)]
Evidence = Annotated[str, non_blank(200)]
EVIDENCE = (
    "佐证资料 of an alternative mode (送教上门, 远程教育, 特殊学校): where it is kept (a document "
    "number, a file reference); required with such a status"
)
HARDSHIP = (
    "特困生/孤儿 as the school determined it: where its evidence (认定材料) is kept; the "
    "student counts as one while it is set (the university charity programmes)"
)
Grade = Annotated[int, Field(ge=1, le=12, description="年级 within the stage (1 …)")]


class StudentFields(BaseModel):
    """A 学籍 record's fields, as a registration gives them (a roster's row too)."""

    school_name: SchoolName = Field(description="学校")
    stage: SchoolStage = Field(description=describe(SchoolStage))
    grade: Grade
    boarding: bool = Field(False, description="寄宿生")
    enrolment_status: EnrolmentStatus = Field(
        EnrolmentStatus.enrolled, description=describe(EnrolmentStatus)
    )
    status_since: PolicyDate = Field(description="Since when the status holds (not in the future)")
    evidence: Evidence | None = Field(None, description=EVIDENCE)
    hardship_evidence: Evidence | None = Field(None, description=HARDSHIP)
    responsible_teacher: TeacherName = Field(description="一生一责任人: the teacher answerable")


class StudentCreate(StudentFields):
    person_id: uuid.UUID = Field(description="Registry member id (户成员) the 学籍 is matched to")


class StudentUpdate(BaseModel):
    """Only the fields given change; a status change needs the date it took effect.
    ``hardship_evidence: null`` ends the student's 特困生/孤儿 standing."""

    school_name: SchoolName | None = None
    stage: SchoolStage | None = Field(None, description=describe(SchoolStage))
    grade: Grade | None = None
    boarding: bool | None = None
    enrolment_status: EnrolmentStatus | None = Field(None, description=describe(EnrolmentStatus))
    status_since: PolicyDate | None = Field(
        None, description="Required with a new enrolment_status"
    )
    evidence: Evidence | None = Field(None, description=EVIDENCE)
    hardship_evidence: Evidence | None = Field(None, description=HARDSHIP)
    responsible_teacher: TeacherName | None = None


class StudentOut(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    person_name: str
    household_id: uuid.UUID
    region_code: str
    school_name: str
    stage: SchoolStage
    grade: int
    boarding: bool
    enrolment_status: EnrolmentStatus
    status_since: dt.date
    evidence: str | None
    hardship_evidence: str | None
    responsible_teacher: str
    version: int
