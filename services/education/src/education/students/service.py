"""Students (学籍, DOMAIN §3): a registry person matched to their school record, one record
a person; every change through the one write path, with its event."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import EnrolmentStatus, SchoolStage
from contracts.events import education as education_events
from education import errors
from education.cases.service import CaseService
from education.compulsory import ALTERNATIVE_MODES, finished_stage, is_compulsory_age
from education.events import changes
from education.households.service import EducationAssessor
from education.models import Person, Student
from education.policy import compulsory_ages
from education.records import registry_persons
from education.students import schemas
from kit.auth import Principal
from kit.clock import Clock
from kit.pagination import PageParams
from kit.records import getter, page_in_region
from persons import event_refs, of_person


class StudentService:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def register(
        self, session: AsyncSession, body: schemas.StudentCreate, actor: Principal
    ) -> Student:
        person = await registry_persons.named(session, body.person_id, actor)
        self.clock.up_to_today(body.status_since, "body.status_since")
        student = Student(**of_person(person), **_stored(body.model_dump(exclude={"person_id"})))
        ensure_evidenced(student)
        session.add(student)
        await session.flush()  # a second record of the person: 409 STUDENT_EXISTS
        await student_changes.created(
            session, student, education_events.STUDENT_REGISTERED, actor=actor
        )
        await self._status_changed(session, student, None, actor)
        return student

    async def update(
        self,
        session: AsyncSession,
        student_id: uuid.UUID,
        body: schemas.StudentUpdate,
        actor: Principal,
    ) -> Student:
        student = await self.get(session, student_id, actor, for_update=True)
        given = _stored(body.model_dump(exclude_unset=True))
        new_status = given.get("enrolment_status")
        if new_status is not None and new_status != student.enrolment_status:
            if body.status_since is None:
                raise errors.STATUS_DATE_REQUIRED("give the date the new status took effect")
        if body.status_since is not None:
            self.clock.up_to_today(body.status_since, "body.status_since")
        was = student.enrolment_status
        event = education_events.STUDENT_UPDATED
        async with student_changes.change(session, student, event, actor=actor, if_changed=True):
            for name, value in given.items():
                if value is not None or name in CLEARABLE:
                    setattr(student, name, value)
            ensure_evidenced(student)
        await self._status_changed(session, student, was, actor)
        return student

    async def _status_changed(
        self, session: AsyncSession, student: Student, was: str | None, actor: Principal
    ) -> None:
        """What follows a registration or a change, in its transaction: a student recorded
        as dropped out (a change to it, or a 学籍 registered so, e.g. from a roster) is a
        dropout (控辍保学): the registry raises its alert and, of compulsory age, a 劝返 case
        opens; and the household's dimension is reassessed."""
        if student.enrolment_status == EnrolmentStatus.dropped_out != was:
            dropout = await self._dropped_out(session, student)
            await changes.record(
                session,
                student,
                education_events.STUDENT_DROPPED_OUT,
                dropout,
                actor=actor,
                audited=False,  # the registration's or update's audit entry tells the change
            )
            if dropout.compulsory:  # and the bureau starts bringing the child back (劝返)
                await CaseService(self.clock).open_for_dropout(session, student, actor)
        await EducationAssessor(self.clock).reassess(session, [student.household_id])

    async def _dropped_out(
        self, session: AsyncSession, student: Student
    ) -> education_events.StudentDroppedOut:
        """The dropout as its event carries it: whether the child was of compulsory age on
        the day (DOMAIN §3.1; the ages are the policy's of the region and year)."""
        person = await session.get(Person, student.person_id)
        on = student.status_since
        ages = await compulsory_ages(session, student.region_code, on.year)
        compulsory = (
            person is not None
            and person.birth_date is not None
            and is_compulsory_age(
                person.birth_date,
                on,
                ages,
                finished_stage=finished_stage(
                    SchoolStage(student.stage), EnrolmentStatus(student.enrolment_status)
                ),
            )
        )
        return education_events.StudentDroppedOut(
            **of_student(student),
            stage=student.stage,
            compulsory=compulsory,
            dropped_out_on=on,
            school_name=student.school_name,
        )

    get = getter(Student, what="student")

    async def search(
        self,
        session: AsyncSession,
        region: str,
        page: PageParams,
        *,
        person_id: uuid.UUID | None = None,
        stage: str | None = None,
        enrolment_status: str | None = None,
        school_name: str | None = None,
    ) -> tuple[list[Student], int]:
        where = []
        if stage is not None:
            where.append(Student.stage == stage)
        if enrolment_status is not None:
            where.append(Student.enrolment_status == enrolment_status)
        if school_name is not None:
            where.append(Student.school_name == school_name)
        order = [Student.school_name, Student.stage, Student.grade, Student.id]
        return await page_in_region(
            session, Student, region, page, order, person_id=person_id, where=where
        )

    async def person_name(self, session: AsyncSession, student: Student) -> str:
        person = await session.get(Person, student.person_id)
        return person.name if person else ""


#: The fields a change may empty with an explicit ``null`` (the others keep their value).
CLEARABLE = frozenset({"hardship_evidence"})


def _stored(fields: dict) -> dict:
    """Enumerations as the plain strings the columns hold."""
    return {k: v.value if isinstance(v, StrEnum) else v for k, v in fields.items()}


def _audit_view(student: Student) -> dict:
    return {
        "school_name": student.school_name,
        "stage": student.stage,
        "grade": student.grade,
        "boarding": student.boarding,
        "enrolment_status": student.enrolment_status,
        "status_since": student.status_since.isoformat(),
        "evidence": student.evidence,
        "hardship_evidence": student.hardship_evidence,
        "responsible_teacher": student.responsible_teacher,
    }


def ensure_evidenced(student: Student) -> None:
    """An alternative mode counts only with its evidence (佐证资料, DOMAIN §3.1): refused
    without it, so every such record has it."""
    if EnrolmentStatus(student.enrolment_status) in ALTERNATIVE_MODES and not student.evidence:
        raise errors.EVIDENCE_REQUIRED(
            f"{student.enrolment_status} counts as schooling only with its evidence (佐证资料)"
        )


def of_student(student: Student) -> dict:
    """What every event about a student carries: the student, whose person and household,
    where, and the policy year (of the status's date)."""
    return dict(student_id=student.id, **event_refs(student, student.status_since.year))


def _snapshot(student: Student) -> education_events.StudentSnapshot:
    return education_events.StudentSnapshot(
        **of_student(student),
        school_name=student.school_name,
        stage=student.stage,
        grade=student.grade,
        boarding=student.boarding,
        enrolment_status=EnrolmentStatus(student.enrolment_status),
        status_since=student.status_since,
        evidenced=student.evidence is not None,
    )


#: A student's changes: the audit view, and the whole record in its events.
student_changes = changes.of(view=_audit_view, data=_snapshot)
