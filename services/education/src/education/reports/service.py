"""Reports computed from the records (DOMAIN §3.3): 资助全覆盖, the summary of a region and
term, and the check of a reported aid total. Each reads its records set-wise (a query for
the students, one for their grants), whatever the number of students."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import (
    AidProgramme,
    DropoutCaseOutcome,
    DropoutCaseStatus,
    EnrolmentStatus,
    SchoolStage,
    SchoolTerm,
)
from contracts.reconcile import ReconciliationOut
from contracts.region import region_prefix
from education import grants
from education.aid.service import granted_of, rules_student
from education.compulsory import ALTERNATIVE_MODES
from education.models import AidGrant, DropoutCase, Person, Student
from education.policy import aid_policies
from education.reports import schemas
from kit.pagination import Page, PageParams

_WAN = Decimal(10_000)


@dataclass(frozen=True)
class Gap:
    """A student owed a programme that paid them nothing in the period."""

    student: Student
    person: Person
    missing: list[AidProgramme]


@dataclass(frozen=True)
class Coverage:
    entitled: int
    gaps: list[Gap]

    def counts(self) -> schemas.CoverageCounts:
        return schemas.CoverageCounts(
            entitled=self.entitled,
            fully_covered=self.entitled - len(self.gaps),
            not_covered=len(self.gaps),
        )


def _at_school():
    """Enrolled, or in an alternative mode with its evidence: the students owed aid."""
    return or_(
        Student.enrolment_status == EnrolmentStatus.enrolled.value,
        and_(
            Student.enrolment_status.in_([m.value for m in ALTERNATIVE_MODES]),
            Student.evidence.is_not(None),
        ),
    )


def _in_period(school_year: int, term: SchoolTerm | None):
    """Grants of the school year (of the term, if named)."""
    year = AidGrant.school_year == school_year
    return year if term is None else and_(year, AidGrant.term == term.value)


async def coverage(
    session: AsyncSession, region: str, school_year: int, term: SchoolTerm | None, on: dt.date
) -> Coverage:
    """资助全覆盖 (DOMAIN §3.3): the students at school in the region who are owed a programme
    (registered poor on ``on``) and what each received nothing from in the period; a
    one-off counts whenever it was paid."""
    prefix = region_prefix(region)
    students = await session.execute(
        select(Student, Person)
        .join(Person, Person.id == Student.person_id)
        .where(Student.region_code.startswith(prefix), _at_school())
        .order_by(Student.region_code, Student.school_name, Student.id)
    )
    paid = await session.execute(
        select(AidGrant.student_id, AidGrant.programme, AidGrant.school_year, AidGrant.amount)
        .join(Student, Student.id == AidGrant.student_id)
        .where(
            Student.region_code.startswith(prefix),
            or_(
                _in_period(school_year, term),
                AidGrant.programme.in_([p.value for p in grants.ONE_OFF]),
            ),
        )
    )
    granted: dict[uuid.UUID, list[grants.Granted]] = defaultdict(list)
    for student_id, *grant in paid:
        granted[student_id].append(granted_of(*grant))
    policies = await aid_policies(session)
    by_region: dict[str, grants.AidPolicy] = {}
    entitled, gaps = 0, []
    for student, person in students:
        if student.region_code not in by_region:
            by_region[student.region_code] = policies.of(student.region_code, school_year)
        policy = by_region[student.region_code]
        owed = rules_student(student, person, on)
        if not grants.entitlements(owed, policy):
            continue
        entitled += 1
        missing = grants.missing_entitlements(owed, policy, school_year, granted[student.id])
        if missing:
            gaps.append(Gap(student, person, missing))
    return Coverage(entitled, gaps)


async def coverage_report(
    session: AsyncSession,
    region: str,
    school_year: int,
    term: SchoolTerm | None,
    on: dt.date,
    page: PageParams,
) -> schemas.CoverageReport:
    found = await coverage(session, region, school_year, term, on)
    shown = found.gaps[page.offset : page.offset + page.size]
    return schemas.CoverageReport(
        region_code=region,
        school_year=school_year,
        term=term,
        counts=found.counts(),
        students=Page(
            items=[_gap(gap) for gap in shown],
            total=len(found.gaps),
            page=page.page,
            size=page.size,
        ),
    )


def _gap(gap: Gap) -> schemas.CoverageGap:
    s = gap.student
    return schemas.CoverageGap(
        student_id=s.id,
        person_id=s.person_id,
        person_name=gap.person.name,
        household_id=s.household_id,
        region_code=s.region_code,
        school_name=s.school_name,
        stage=SchoolStage(s.stage),
        missing=gap.missing,
    )


async def summary_report(
    session: AsyncSession, region: str, school_year: int, term: SchoolTerm | None, on: dt.date
) -> schemas.SummaryReport:
    """The students of the region by stage and status (now), the aid paid in the period by
    programme, and its 资助全覆盖."""
    prefix = region_prefix(region)
    by_stage = await session.execute(
        select(Student.stage, Student.enrolment_status, func.count())
        .where(Student.region_code.startswith(prefix))
        .group_by(Student.stage, Student.enrolment_status)
        .order_by(Student.stage, Student.enrolment_status)
    )
    students = [
        schemas.StudentCount(stage=stage, enrolment_status=status, students=count)
        for stage, status, count in by_stage
    ]
    # Grants are counted where they were paid (the student's region at payment).
    figures = select(
        func.count(AidGrant.id),
        func.count(func.distinct(AidGrant.student_id)),
        func.coalesce(func.sum(AidGrant.amount), 0),
    ).where(AidGrant.region_code.startswith(prefix), _in_period(school_year, term))
    by_programme = await session.execute(
        figures.add_columns(AidGrant.programme)
        .group_by(AidGrant.programme)
        .order_by(AidGrant.programme)
    )
    aid = [_aid(AidProgramme(programme), *row) for *row, programme in by_programme]
    return schemas.SummaryReport(
        region_code=region,
        school_year=school_year,
        term=term,
        students=students,
        students_total=sum(s.students for s in students),
        dropouts=sum(
            s.students for s in students if s.enrolment_status is EnrolmentStatus.dropped_out
        ),
        cases=await case_counts(session, prefix, on),
        aid=aid,
        aid_total=_aid(None, *(await session.execute(figures)).one()),
        coverage=(await coverage(session, region, school_year, term, on)).counts(),
    )


async def case_counts(session: AsyncSession, prefix: str, on: dt.date) -> schemas.CaseCounts:
    """The region's 劝返 cases by status and outcome, and the open ones overdue on ``on``."""
    rows = await session.execute(
        select(
            DropoutCase.status,
            DropoutCase.outcome,
            func.count(),
            func.count().filter(DropoutCase.due_on < on),
        )
        .where(DropoutCase.region_code.startswith(prefix))
        .group_by(DropoutCase.status, DropoutCase.outcome)
    )
    found = {outcome or status: (count, late) for status, outcome, count, late in rows}
    still_open = found.get(DropoutCaseStatus.open.value, (0, 0))
    return schemas.CaseCounts(
        open=still_open[0],
        overdue=still_open[1],
        **{o.value: found.get(o.value, (0, 0))[0] for o in DropoutCaseOutcome},
    )


def _aid(
    programme: AidProgramme | None, grants_paid: int, students: int, amount: Decimal
) -> schemas.ProgrammeAid:
    amount = Decimal(amount).quantize(Decimal("0.01"))
    return schemas.ProgrammeAid(
        programme=programme,
        grants=grants_paid,
        students=students,
        amount=amount,
        amount_wan=amount / _WAN,
    )


def check_reported(body: schemas.ReportedAidTotal) -> schemas.AidTotalCheck:
    """A reported aid total against its lines (``grants.check_reported_total``)."""
    lines = [
        grants.ReportLine(line.label, line.students, [p.part() for p in line.parts])
        for line in body.lines
    ]
    check = grants.check_reported_total(body.stated_students, body.stated_amount, lines, body.unit)
    return schemas.AidTotalCheck(
        adds_up=check.adds_up,
        stated_students=check.stated_students,
        computed_students=check.computed_students,
        students_difference=check.computed_students - check.stated_students,
        amount=ReconciliationOut.of(check.amount),
    )
