"""Events of the education service (教育扶贫, DOMAIN §3) that the registry monitors."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import Field

from contracts.dates import PolicyDate
from contracts.enums import (
    AidProgramme,
    DropoutCaseOutcome,
    DropoutCaseStatus,
    EnrolmentStatus,
    SchoolStage,
    SchoolTerm,
    describe,
)
from contracts.events.common import HouseholdRef, PersonRef, department_event
from contracts.money import NonNegativeMoney
from contracts.status import DimensionFact


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
    # The gateway's education dimension follows education_assessed, not this.
    consumers=("registry",),
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


class DropoutCaseEvent(PersonRef):
    """A 劝返 case (控辍保学) as it stands after the change: who is responsible, by when, its
    visits so far, and its outcome once closed."""

    case_id: uuid.UUID = Field(description="The education service's case id (subject)")
    student_id: uuid.UUID = Field(description="The student who dropped out")
    status: DropoutCaseStatus = Field(description=describe(DropoutCaseStatus))
    responsible_person: str = Field(max_length=50, description="劝返责任人")
    opened_on: PolicyDate
    due_on: PolicyDate = Field(description="劝返 due by (the policy's days after opening)")
    visits: int = Field(ge=0, description="劝返 visits recorded so far")
    outcome: DropoutCaseOutcome | None = Field(None, description=describe(DropoutCaseOutcome))
    closed_on: PolicyDate | None = None


class AidPaid(PersonRef):
    """An aid grant paid to a student (教育资助), within its programme's standard."""

    grant_id: uuid.UUID = Field(description="The education service's grant id (subject)")
    student_id: uuid.UUID
    programme: AidProgramme = Field(description=describe(AidProgramme))
    stage: SchoolStage = Field(description=describe(SchoolStage))
    school_year: int = Field(ge=2000, le=2100, description="学年, named by the year it begins")
    term: SchoolTerm = Field(description=describe(SchoolTerm))
    amount: NonNegativeMoney = Field(description="元")
    paid_on: PolicyDate = Field(description="发放日期")


class EducationAssessed(HouseholdRef):
    """The household's 义务教育有保障 dimension as education decides it (subject: the
    household), with the counts behind it: counts, never names."""

    education: DimensionFact
    compulsory_age: int = Field(ge=0, description="Members of compulsory-education age")
    in_school: int = Field(
        ge=0, description="Of them, enrolled or in an evidenced alternative mode (入学)"
    )
    dropped_out: int = Field(ge=0, description="Of them, dropped out (辍学)")
    unmatched: int = Field(ge=0, description="Of them, without a matched 学籍")


CASE_OPENED = department_event(
    "education.case.opened",
    DropoutCaseEvent,
    "case",
    "A 劝返 case was opened for a compulsory-age dropout (控辍保学).",
    consumers=(),
)
CASE_UPDATED = department_event(
    "education.case.updated",
    DropoutCaseEvent,
    "case",
    "A 劝返 visit was recorded, or the case's responsible person or due date changed.",
    consumers=(),
)
CASE_CLOSED = department_event(
    "education.case.closed",
    DropoutCaseEvent,
    "case",
    "A 劝返 case was closed with its outcome (returned, alternative mode, exempt).",
    consumers=(),
)
AID_PAID = department_event(
    "education.aid.paid",
    AidPaid,
    "grant",
    "An aid grant was paid to a student (教育资助, 人次 and 元 by programme).",
    consumers=("gateway",),
)
EDUCATION_ASSESSED = department_event(
    "education.household.education_assessed",
    EducationAssessed,
    "household",
    "义务教育有保障 of a household changed (the gateway's `education` dimension), with the "
    "counts of compulsory-age members in and out of school; never names.",
    consumers=("gateway",),
)

EVENTS = [
    STUDENT_REGISTERED,
    STUDENT_UPDATED,
    STUDENT_DROPPED_OUT,
    CASE_OPENED,
    CASE_UPDATED,
    CASE_CLOSED,
    AID_PAID,
    EDUCATION_ASSESSED,
]
