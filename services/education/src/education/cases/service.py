"""劝返 cases (控辍保学, DOMAIN §3.1): a student out of school gets a case with a responsible
person (劝返责任人) and a due date, visits are recorded on it, and it is closed with its
outcome once the 学籍 shows it. At most one open case a student; every change through the
one write path, with its event."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import DropoutCaseOutcome, DropoutCaseStatus, EnrolmentStatus
from contracts.events import education as education_events
from education import errors
from education.cases import schemas
from education.compulsory import ALTERNATIVE_MODES, is_schooled
from education.events import changes
from education.models import CaseVisit, DropoutCase, Person, Student
from education.policy import case_due_days
from education.records import named_student
from kit.auth import Principal
from kit.clock import Clock
from kit.db import among
from kit.pagination import PageParams
from kit.records import getter, page_in_region
from persons import event_refs

OPEN = DropoutCaseStatus.open.value
#: The outcomes that need their evidence (佐证资料) on the case.
EVIDENCED_OUTCOMES = frozenset({DropoutCaseOutcome.alternative_mode, DropoutCaseOutcome.exempt})


class CaseService:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def open(
        self, session: AsyncSession, body: schemas.CaseCreate, actor: Principal
    ) -> DropoutCase:
        """A case opened by hand, for a student out of school with no open case."""
        opened_on = self.clock.up_to_today(body.opened_on, "body.opened_on")
        # Locked: the student's dropout, which opens a case too, waits for this one.
        student = await named_student(session, body.student_id, actor, for_update=True)
        if _schooled(student):
            raise errors.STUDENT_IN_SCHOOL(
                f"the student is {student.enrolment_status}: there is nobody to bring back"
            )
        if await self.open_case_of(session, student.id) is not None:
            raise errors.CASE_EXISTS("the student has an open 劝返 case already")
        return await self._open(session, student, opened_on, body.responsible_person, actor)

    async def open_for_dropout(
        self, session: AsyncSession, student: Student, actor: Principal
    ) -> None:
        """In the dropout's transaction (the student locked): a compulsory-age dropout gets
        a case today, its responsible teacher responsible, unless one is open already."""
        if await self.open_case_of(session, student.id) is None:
            await self._open(session, student, self.clock.today(), None, actor)

    async def _open(
        self,
        session: AsyncSession,
        student: Student,
        opened_on: dt.date,
        responsible_person: str | None,
        actor: Principal,
    ) -> DropoutCase:
        days = await case_due_days(session, student.region_code, opened_on.year)
        case = DropoutCase(
            student_id=student.id,
            person_id=student.person_id,
            household_id=student.household_id,
            region_code=student.region_code,
            responsible_person=responsible_person or student.responsible_teacher,
            opened_on=opened_on,
            due_on=opened_on + dt.timedelta(days=days),
            status=OPEN,
        )
        session.add(case)
        await session.flush()  # a second open case of the student: 409 CASE_EXISTS
        await case_changes.created(session, case, education_events.CASE_OPENED, actor=actor)
        return case

    async def update(
        self,
        session: AsyncSession,
        case_id: uuid.UUID,
        body: schemas.CaseUpdate,
        actor: Principal,
    ) -> DropoutCase:
        case = await self._open_case(session, case_id, actor)
        if body.due_on is not None:
            _not_before_opening(case, body.due_on, "body.due_on")
        event = education_events.CASE_UPDATED
        async with case_changes.change(session, case, event, actor=actor, if_changed=True):
            if body.responsible_person is not None:
                case.responsible_person = body.responsible_person
            if body.due_on is not None:
                case.due_on = body.due_on
        return case

    async def add_visit(
        self,
        session: AsyncSession,
        case_id: uuid.UUID,
        body: schemas.VisitCreate,
        actor: Principal,
    ) -> DropoutCase:
        case = await self._open_case(session, case_id, actor)
        self.clock.up_to_today(body.visited_on, "body.visited_on")
        _not_before_opening(case, body.visited_on, "body.visited_on")
        visit = CaseVisit(case_id=case.id, **body.model_dump())
        session.add(visit)
        also = {"visit": body.model_dump(mode="json")}
        event = education_events.CASE_UPDATED
        async with case_changes.change(session, case, event, actor=actor, also=also):
            case.visits += 1
        return case

    async def close(
        self,
        session: AsyncSession,
        case_id: uuid.UUID,
        body: schemas.CaseClose,
        actor: Principal,
    ) -> DropoutCase:
        case = await self._open_case(session, case_id, actor)
        closed_on = self.clock.up_to_today(body.closed_on, "body.closed_on")
        _not_before_opening(case, closed_on, "body.closed_on")
        if body.outcome in EVIDENCED_OUTCOMES and body.evidence is None:
            raise errors.OUTCOME_EVIDENCE_REQUIRED(
                f"{body.outcome.value} needs its evidence (佐证资料)"
            )
        student = await session.get(Student, case.student_id, with_for_update=True)
        assert student is not None  # a case's student is never deleted
        _ensure_outcome_shown(body.outcome, student)
        event = education_events.CASE_CLOSED
        async with case_changes.change(session, case, event, actor=actor):
            case.status = DropoutCaseStatus.closed.value
            case.outcome = body.outcome.value
            case.evidence = body.evidence
            case.closed_on = closed_on
        return case

    get = getter(DropoutCase, what="case")

    async def _open_case(
        self, session: AsyncSession, case_id: uuid.UUID, actor: Principal
    ) -> DropoutCase:
        case = await self.get(session, case_id, actor, for_update=True)
        if case.status != OPEN:
            raise errors.CASE_CLOSED(f"the case was closed on {case.closed_on} ({case.outcome})")
        return case

    async def open_case_of(self, session: AsyncSession, student_id: uuid.UUID) -> uuid.UUID | None:
        found = await session.execute(
            select(DropoutCase.id).where(
                DropoutCase.student_id == student_id, DropoutCase.status == OPEN
            )
        )
        return found.scalar_one_or_none()

    async def search(
        self,
        session: AsyncSession,
        region: str,
        page: PageParams,
        *,
        status: DropoutCaseStatus | None = None,
        overdue: bool | None = None,
        person_id: uuid.UUID | None = None,
    ) -> tuple[list[DropoutCase], int]:
        """The cases of a region, the soonest due first."""
        where = []
        if status is not None:
            where.append(DropoutCase.status == status.value)
        if overdue is not None:
            late = (DropoutCase.status == OPEN) & (DropoutCase.due_on < self.clock.today())
            where.append(late if overdue else ~late)
        order = [DropoutCase.due_on, DropoutCase.id]
        return await page_in_region(
            session, DropoutCase, region, page, order, person_id=person_id, where=where
        )

    async def visits(self, session: AsyncSession, case: DropoutCase) -> list[CaseVisit]:
        rows = await session.execute(
            select(CaseVisit)
            .where(CaseVisit.case_id == case.id)
            .order_by(CaseVisit.visited_on, CaseVisit.created_at, CaseVisit.id)
        )
        return list(rows.scalars())

    async def out(self, session: AsyncSession, cases: list[DropoutCase]) -> list[schemas.CaseOut]:
        """The cases as the API shows them, with their persons' names (one query)."""
        names = dict(
            (
                await session.execute(
                    select(Person.id, Person.name).where(
                        among(Person.id, [c.person_id for c in cases])
                    )
                )
            ).all()
        )
        today = self.clock.today()
        return [
            schemas.CaseOut(
                **case.model_dump(exclude={"created_at"}),
                person_name=names.get(case.person_id, ""),
                overdue=case.status == OPEN and case.due_on < today,
            )
            for case in cases
        ]

    async def detail(self, session: AsyncSession, case: DropoutCase) -> schemas.CaseDetail:
        (out,) = await self.out(session, [case])
        visits = await self.visits(session, case)
        return schemas.CaseDetail(
            **out.model_dump(),
            visit_log=[schemas.VisitOut.model_validate(v, from_attributes=True) for v in visits],
        )


def _schooled(student: Student) -> bool:
    return is_schooled(EnrolmentStatus(student.enrolment_status), student.evidence is not None)


def _ensure_outcome_shown(outcome: DropoutCaseOutcome, student: Student) -> None:
    """``returned`` and ``alternative_mode`` are what the 学籍 says (changed through
    PATCH /students/{id}, with its events), never what the case claims."""
    status = EnrolmentStatus(student.enrolment_status)
    if outcome is DropoutCaseOutcome.returned and status is not EnrolmentStatus.enrolled:
        raise errors.OUTCOME_NOT_MET(
            f"the student is {status.value}: record their return to school first"
        )
    if outcome is DropoutCaseOutcome.alternative_mode and not (
        status in ALTERNATIVE_MODES and _schooled(student)
    ):
        raise errors.OUTCOME_NOT_MET(
            f"the student is {status.value}: record the alternative mode (送教上门, 远程教育, "
            "特殊学校) with its evidence first"
        )


def _not_before_opening(case: DropoutCase, day: dt.date, field: str) -> None:
    if day < case.opened_on:
        raise errors.DATE_BEFORE_OPENING(
            f"{day} is before the case was opened ({case.opened_on})", field=field
        )


def _audit_view(case: DropoutCase) -> dict:
    return {
        "status": case.status,
        "responsible_person": case.responsible_person,
        "opened_on": case.opened_on.isoformat(),
        "due_on": case.due_on.isoformat(),
        "visits": case.visits,
        "outcome": case.outcome,
        "evidence": case.evidence,
        "closed_on": case.closed_on and case.closed_on.isoformat(),
    }


def _event(case: DropoutCase) -> education_events.DropoutCaseEvent:
    """The case as its events carry it; its policy year is the year it was opened."""
    return education_events.DropoutCaseEvent(
        **event_refs(case, case.opened_on.year),
        case_id=case.id,
        student_id=case.student_id,
        status=DropoutCaseStatus(case.status),
        responsible_person=case.responsible_person,
        opened_on=case.opened_on,
        due_on=case.due_on,
        visits=case.visits,
        outcome=case.outcome,
        closed_on=case.closed_on,
    )


#: A case's changes: the audit view, and the whole case in its events.
case_changes = changes.of(view=_audit_view, data=_event)
