"""Report schemas: 资助全覆盖, the summary of a region and term, and the check of a reported
aid total against its lines."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from contracts.enums import AidProgramme, EnrolmentStatus, SchoolStage, SchoolTerm
from contracts.money import MoneyTotal
from contracts.reconcile import ReconciliationOut, ReportedPart, Unit
from contracts.text import non_blank
from kit.pagination import Page


class CoverageGap(BaseModel):
    student_id: uuid.UUID
    person_id: uuid.UUID
    person_name: str
    household_id: uuid.UUID
    region_code: str
    school_name: str
    stage: SchoolStage
    missing: list[AidProgramme] = Field(
        description="Programmes owed that paid the student nothing in the period"
    )


class CoverageCounts(BaseModel):
    entitled: int = Field(description="Students at school owed at least one programme")
    fully_covered: int = Field(description="Of them, paid by every programme owed")
    not_covered: int = Field(description="Of them, missing one programme or more")


class CaseCounts(BaseModel):
    """劝返 cases (控辍保学) of the region now."""

    open: int = Field(description="Open (劝返中)")
    overdue: int = Field(description="Of them, past their due date today")
    returned: int = Field(description="Closed: back at school (劝返复学)")
    alternative_mode: int = Field(description="Closed: in an evidenced alternative mode")
    exempt: int = Field(description="Closed: exempt (免于入学, 延缓入学)")


class CoverageReport(BaseModel):
    region_code: str
    school_year: int
    term: SchoolTerm | None = Field(description="The term counted (none: the whole school year)")
    counts: CoverageCounts
    students: Page[CoverageGap] = Field(description="The students not fully covered")


class StudentCount(BaseModel):
    stage: SchoolStage
    enrolment_status: EnrolmentStatus
    students: int


class ProgrammeAid(BaseModel):
    programme: AidProgramme | None = Field(description="None on the total line")
    grants: int = Field(description="人次: payments")
    students: int = Field(description="人数: distinct students paid")
    amount: MoneyTotal = Field(description="元")
    amount_wan: Decimal = Field(description="万元 (exact)")


class SummaryReport(BaseModel):
    region_code: str
    school_year: int
    term: SchoolTerm | None = Field(description="The term counted (none: the whole school year)")
    students: list[StudentCount] = Field(
        description="学籍 in the region now, by stage and enrolment status"
    )
    students_total: int
    dropouts: int = Field(description="Students dropped out (辍学) now")
    cases: CaseCounts = Field(description="劝返 cases (控辍保学) now")
    aid: list[ProgrammeAid] = Field(description="Grants paid in the period, by programme")
    aid_total: ProgrammeAid
    coverage: CoverageCounts = Field(description="资助全覆盖 in the period")


class ReportedLine(BaseModel):
    """One line of a reported aid total: its students, and its amount as parts."""

    label: Annotated[str, non_blank(100)] = Field(description="What the line is (学段, 项目)")
    students: int = Field(ge=0, le=10_000_000, description="人数 the line states")
    parts: list[ReportedPart] = Field(min_length=1, max_length=100)


class ReportedAidTotal(BaseModel):
    """An aid figure from a report (a 总结, a 台账): students and amount, and the lines it
    claims to be made of."""

    stated_students: int = Field(ge=0, le=10_000_000, description="人数 stated")
    stated_amount: Decimal = Field(
        ge=0, max_digits=20, decimal_places=6, description="Amount stated, in `unit`"
    )
    unit: Unit = Field(Unit.yuan, description="yuan (元), wan (万元) or yi (亿元)")
    lines: list[ReportedLine] = Field(min_length=1, max_length=1000)


class AidTotalCheck(BaseModel):
    adds_up: bool = Field(description="Both the students and the amount add up")
    stated_students: int
    computed_students: int = Field(description="The sum of the lines' students")
    students_difference: int = Field(description="computed − stated")
    amount: ReconciliationOut
