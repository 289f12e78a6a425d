"""Events of the education service (教育扶贫, DOMAIN §3) that the registry monitors."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import Field

from contracts.enums import SchoolStage, describe
from contracts.events.common import PersonRef, department_event


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

EVENTS = [STUDENT_DROPPED_OUT]
