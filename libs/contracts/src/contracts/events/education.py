"""Events of the education service (教育扶贫, DOMAIN §3) that the registry monitors."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import Field

from contracts.enums import EnrolmentStatus, SchoolStage, describe
from contracts.events.common import PersonRef, department_event


class StudentSnapshot(PersonRef):
    """A student's 学籍 as it is after the change (the whole record: a consumer that missed
    an event converges on the next one)."""

    student_id: uuid.UUID = Field(description="The education service's student id (subject)")
    school_name: str = Field(max_length=100, description="学校")
    stage: SchoolStage = Field(description=describe(SchoolStage))
    grade: int = Field(ge=1, le=12, description="年级 within the stage")
    boarding: bool = Field(description="寄宿生")
    enrolment_status: EnrolmentStatus = Field(description=describe(EnrolmentStatus))
    status_since: dt.date = Field(description="Since when the status holds")
    evidenced: bool = Field(
        False, description="An alternative mode's evidence (佐证资料) is on file"
    )


class StudentDroppedOut(PersonRef):
    """A student left school (辍学) without an evidenced alternative mode."""

    student_id: uuid.UUID = Field(description="The education service's student id (subject)")
    stage: SchoolStage = Field(description=describe(SchoolStage))
    compulsory: bool = Field(
        description="The student is of compulsory-education age (义务教育阶段, 6–15 without "
        "finished junior high)"
    )
    dropped_out_on: dt.date
    school_name: str | None = Field(None, max_length=100)


STUDENT_DROPPED_OUT = department_event(
    "education.student.dropped_out",
    StudentDroppedOut,
    "student",
    "A student dropped out (辍学); `compulsory` when of compulsory-education age.",
    consumers=("registry", "gateway"),
)

STUDENT_REGISTERED = department_event(
    "education.student.registered",
    StudentSnapshot,
    "student",
    "A student's 学籍 was matched to a registry person (学籍比对).",
    consumers=(),
)
STUDENT_UPDATED = department_event(
    "education.student.updated",
    StudentSnapshot,
    "student",
    "A student's school, stage, grade, boarding or enrolment status changed.",
    consumers=(),
)

EVENTS = [STUDENT_REGISTERED, STUDENT_UPDATED, STUDENT_DROPPED_OUT]
