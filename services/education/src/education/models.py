"""Education (教育扶贫) tables (storage). API schemas live beside the endpoints, never here."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, DateTime, Index, Numeric, UniqueConstraint, func, text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from kit.audit import define_audit_table
from kit.consumer import define_inbox_tables
from kit.outbox import define_outbox_table
from kit.policy import define_policy_table
from persons import PERSONS_TABLE, RegistryPerson


class EducationModel(SQLModel, registry=registry()):
    """Base of the education service's tables: its own metadata, so migrations see only these."""


metadata = EducationModel.metadata


class Person(EducationModel, RegistryPerson, table=True):
    """A registry household member as the education service knows them (from the registry's
    events, through the persons library; never the registry's database)."""

    __tablename__ = PERSONS_TABLE


def _timestamp() -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class Student(EducationModel, table=True):
    """学籍: a registry person as a student (one record a person), with school, stage,
    grade, boarding, enrolment status and the responsible teacher (一生一责任人)."""

    __tablename__ = "students"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="persons.id", unique=True)
    household_id: uuid.UUID = Field(index=True)
    region_code: str = Field(max_length=12, index=True)
    school_name: str = Field(max_length=100)
    stage: str = Field(max_length=24)  # contracts.enums.SchoolStage
    grade: int
    boarding: bool = False
    enrolment_status: str = Field(max_length=16)  # contracts.enums.EnrolmentStatus
    status_since: dt.date
    #: 佐证资料 of an alternative mode (送教上门, 远程教育, 特殊学校): where it is kept.
    evidence: str | None = Field(default=None, max_length=200)
    #: 特困生/孤儿 as the school determined it: where its evidence (认定材料) is kept; the
    #: student counts as one while it is set (the university charity programmes).
    hardship_evidence: str | None = Field(default=None, max_length=200)
    responsible_teacher: str = Field(max_length=50)  # 一生一责任人
    version: int = 1
    created_at: dt.datetime | None = _timestamp()


class DropoutCase(EducationModel, table=True):
    """劝返 case (控辍保学): a student who left school, whom a responsible person (劝返责任人)
    visits until they are back, in an evidenced alternative mode, or exempt. At most one
    open case a student."""

    __tablename__ = "dropout_cases"
    __table_args__ = (
        Index(
            "dropout_cases_one_open",
            "student_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    student_id: uuid.UUID = Field(foreign_key="students.id", index=True)
    person_id: uuid.UUID = Field(foreign_key="persons.id")
    household_id: uuid.UUID = Field(index=True)
    region_code: str = Field(max_length=12, index=True)
    responsible_person: str = Field(max_length=50)  # 劝返责任人
    opened_on: dt.date
    due_on: dt.date
    status: str = Field(max_length=16)  # contracts.enums.DropoutCaseStatus
    outcome: str | None = Field(default=None, max_length=24)  # DropoutCaseOutcome
    #: 佐证资料 of the outcome (an alternative mode's, an exemption's): where it is kept.
    evidence: str | None = Field(default=None, max_length=200)
    closed_on: dt.date | None = None
    #: How many visits are recorded (its events carry the count, not the visits).
    visits: int = 0
    version: int = 1
    created_at: dt.datetime | None = _timestamp()


class CaseVisit(EducationModel, table=True):
    """One 劝返 visit (入户劝返) of a case: when, by whom, what was said or agreed, and the
    next step."""

    __tablename__ = "case_visits"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="dropout_cases.id", index=True)
    visited_on: dt.date
    visited_by: str = Field(max_length=50)
    notes: str = Field(max_length=1000)
    next_step: str | None = Field(default=None, max_length=200)
    created_at: dt.datetime | None = _timestamp()


class AidGrant(EducationModel, table=True):
    """A paid aid grant (教育资助): one payment to a student from a programme, for a school
    year's term, within the programme's standard; never changed once written."""

    __tablename__ = "aid_grants"
    __table_args__ = (
        #: A 发放凭证号 pays once within its programme (409 GRANT_REFERENCE_TAKEN).
        UniqueConstraint("programme", "payment_reference", name="uq_aid_grant_reference"),
        Index("ix_aid_grants_student_year", "student_id", "school_year"),
        Index("ix_aid_grants_region_year", "region_code", "school_year"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    student_id: uuid.UUID = Field(foreign_key="students.id")
    person_id: uuid.UUID = Field(foreign_key="persons.id")
    household_id: uuid.UUID
    region_code: str = Field(max_length=12)
    programme: str = Field(max_length=32)  # contracts.enums.AidProgramme
    stage: str = Field(max_length=24)  # the student's 学段 when paid
    school_year: int  # 学年, named by the year it begins
    term: str = Field(max_length=8)  # contracts.enums.SchoolTerm
    amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    paid_on: dt.date
    payment_reference: str = Field(max_length=50)  # 发放凭证号
    created_by: str = Field(max_length=100)
    created_at: dt.datetime | None = _timestamp()


class EducationAssessment(EducationModel, table=True):
    """The 义务教育有保障 dimension last published for a household, with the counts behind
    it (published again only when one of them changes; its version is the event's
    ``sequence``)."""

    __tablename__ = "education_assessments"

    household_id: uuid.UUID = Field(primary_key=True)
    region_code: str = Field(max_length=12)
    status: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=48)
    detail: str | None = Field(default=None, max_length=300)
    compulsory_age: int
    in_school: int
    dropped_out: int
    unmatched: int
    version: int
    assessed_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


audit_table = define_audit_table(metadata)
#: What the registry consumer has applied (kit.consumer).
inbox_table, positions_table = define_inbox_tables(metadata)
#: Overrides of the policy parameters (education.policy), by region subtree and year.
policy_table = define_policy_table(metadata)
outbox_table = define_outbox_table(metadata)
