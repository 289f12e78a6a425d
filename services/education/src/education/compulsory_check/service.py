"""The compulsory-education check (DOMAIN §3.1): the household members of compulsory age
today who are neither enrolled nor in an evidenced alternative mode (dropped out, out of
school, or without a matched 学籍), per village and per school.

Set-wise: the policy's ages of every region in one query, then one query for the
candidates (members of the region born within the widest ages, not enrolled), each judged
by the pure rule (``compulsory.unschooled_reason``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import DropoutCaseStatus, EnrolmentStatus, SchoolStage
from contracts.region import region_prefix
from contracts.status import Reason
from education.compulsory import Child, age_on, finished_stage, unschooled_reason
from education.compulsory_check import schemas
from education.models import DropoutCase, Person, Student
from education.policy import compulsory_ages_everywhere
from kit.clock import Clock
from kit.pagination import PageParams


class CompulsoryCheckService:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def unschooled(self, session: AsyncSession, region: str) -> list[schemas.UnschooledChild]:
        """Everyone on the list in the region, by village, school and name."""
        today = self.clock.today()
        ages = await compulsory_ages_everywhere(session)
        # Wide bounds only: the rule below decides each candidate exactly.
        born_after = dt.date(today.year - ages.oldest_last_age - 2, 1, 1)
        born_by = dt.date(today.year - ages.youngest_first_age, 12, 31)
        rows = await session.execute(
            select(Person, Student, DropoutCase.id)
            .outerjoin(Student, Student.person_id == Person.id)
            .outerjoin(
                DropoutCase,
                and_(
                    DropoutCase.student_id == Student.id,
                    DropoutCase.status == DropoutCaseStatus.open.value,
                ),
            )
            .where(
                Person.region_code.startswith(region_prefix(region)),
                Person.in_household,
                Person.birth_date.between(born_after, born_by),
                # An enrolled student is schooled, whatever the ages.
                Student.enrolment_status.is_distinct_from(EnrolmentStatus.enrolled.value),
            )
        )
        listed = []
        for person, student, case_id in rows:
            child = _child(person, student)
            reason = unschooled_reason(child, today, ages.of(person.region_code, today.year))
            if reason is not None:
                age = age_on(child.birth_date, today)
                listed.append(_out(person, student, case_id, reason, age))
        listed.sort(key=lambda c: (c.region_code, c.school_name or "\uffff", c.person_name))
        return listed

    async def check(
        self, session: AsyncSession, region: str, page: PageParams
    ) -> schemas.CompulsoryCheck:
        listed = await self.unschooled(session, region)
        villages: dict[str, Counter[Reason]] = {}
        schools: dict[str, Counter[Reason]] = {}
        for child in listed:
            villages.setdefault(child.region_code, Counter())[child.reason] += 1
            if child.school_name is not None:
                schools.setdefault(child.school_name, Counter())[child.reason] += 1
        return schemas.CompulsoryCheck(
            region_code=region,
            on=self.clock.today(),
            total=len(listed),
            by_village=[
                schemas.VillageCount(
                    region_code=code,
                    dropped_out=counts[Reason.DROPOUT],
                    out_of_school=counts[Reason.OUT_OF_SCHOOL],
                    no_student_record=counts[Reason.NO_STUDENT_RECORD],
                    total=counts.total(),
                )
                for code, counts in sorted(villages.items())
            ],
            by_school=[
                schemas.SchoolCount(
                    school_name=name,
                    dropped_out=counts[Reason.DROPOUT],
                    out_of_school=counts[Reason.OUT_OF_SCHOOL],
                    total=counts.total(),
                )
                for name, counts in sorted(schools.items())
            ],
            items=listed[page.offset : page.offset + page.size],
            page=page.page,
            size=page.size,
        )


def _child(person: Person, student: Student | None) -> Child:
    assert person.birth_date is not None  # the query reads only members with one
    if student is None:
        return Child(birth_date=person.birth_date)
    status = EnrolmentStatus(student.enrolment_status)
    return Child(
        birth_date=person.birth_date,
        finished_stage=finished_stage(SchoolStage(student.stage), status),
        status=status,
        evidenced=student.evidence is not None,
    )


def _out(
    person: Person,
    student: Student | None,
    case_id: uuid.UUID | None,
    reason: Reason,
    age: int,
) -> schemas.UnschooledChild:
    school = (
        {}
        if student is None
        else dict(
            student_id=student.id,
            school_name=student.school_name,
            stage=student.stage,
            enrolment_status=student.enrolment_status,
            status_since=student.status_since,
        )
    )
    return schemas.UnschooledChild(
        person_id=person.id,
        person_name=person.name,
        household_id=person.household_id,
        region_code=person.region_code,
        age=age,
        reason=reason,
        open_case_id=case_id,
        **school,
    )
