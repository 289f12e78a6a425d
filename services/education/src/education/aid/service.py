"""Aid grants (教育资助, DOMAIN §3.2): a payment to a student is checked against its
programme's standard in the student's region and school year, with what the student
received already (不随意提标扩面), then recorded with its event (education.aid.paid)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import AidProgramme, SchoolStage
from contracts.events import education as education_events
from contracts.poverty import is_registered_poor
from education import grants
from education.aid import schemas
from education.events import changes
from education.models import AidGrant, Person, Student
from education.policy import aid_policy
from education.records import named_student
from kit.auth import Principal
from kit.clock import Clock
from kit.pagination import PageParams
from kit.records import getter, one_writer_at_a_time, page_in_region
from persons import event_refs


class GrantService:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def pay(
        self, session: AsyncSession, body: schemas.GrantCreate, actor: Principal
    ) -> AidGrant:
        student = await named_student(session, body.student_id, actor)
        self.clock.up_to_today(body.paid_on, "body.paid_on")
        # Two payments checked against the same earlier ones could both pass the standard:
        # the payers of one student go one at a time.
        await one_writer_at_a_time(session, f"aid_grants:{student.id}")
        person = await session.get(Person, student.person_id)
        granted = await session.execute(
            select(AidGrant.programme, AidGrant.school_year, AidGrant.amount).where(
                AidGrant.student_id == student.id
            )
        )
        grants.check_grant(
            body.programme,
            body.amount,
            body.school_year,
            rules_student(student, person, body.paid_on),
            await aid_policy(session, student.region_code, body.school_year),
            [granted_of(*row) for row in granted],
        )
        grant = AidGrant(
            student_id=student.id,
            person_id=student.person_id,
            household_id=student.household_id,
            region_code=student.region_code,
            programme=body.programme.value,
            stage=student.stage,
            school_year=body.school_year,
            term=body.term.value,
            amount=body.amount,
            paid_on=body.paid_on,
            payment_reference=body.payment_reference,
            created_by=actor.subject,
        )
        session.add(grant)
        await session.flush()  # a payment reference used already: 409 GRANT_REFERENCE_TAKEN
        await grant_changes.created(session, grant, education_events.AID_PAID, actor=actor)
        return grant

    get = getter(AidGrant, what="grant")

    async def search(
        self,
        session: AsyncSession,
        region: str,
        page: PageParams,
        *,
        student_id: uuid.UUID | None = None,
        programme: str | None = None,
        school_year: int | None = None,
        term: str | None = None,
    ) -> tuple[list[AidGrant], int]:
        where = []
        if student_id is not None:
            where.append(AidGrant.student_id == student_id)
        if programme is not None:
            where.append(AidGrant.programme == programme)
        if school_year is not None:
            where.append(AidGrant.school_year == school_year)
        if term is not None:
            where.append(AidGrant.term == term)
        order = [AidGrant.paid_on.desc(), AidGrant.id]
        return await page_in_region(session, AidGrant, region, page, order, where=where)


def rules_student(student: Student, person: Person | None, on: dt.date) -> grants.Student:
    """What the rules of grants read of a student on a day: registered poor (建档立卡 with
    脱贫不脱政策, as the registry last said, while the person is in the household), the
    stage, boarding, and 特困生/孤儿 (the school's determination, with its evidence)."""
    return grants.Student(
        stage=SchoolStage(student.stage),
        registered_poor=person is not None
        and person.in_household
        and is_registered_poor(person, on),
        boarding=student.boarding,
        hardship=student.hardship_evidence is not None,
    )


def granted_of(programme: str, school_year: int, amount: Decimal) -> grants.Granted:
    """A stored grant as the rules read it."""
    return grants.Granted(AidProgramme(programme), school_year, amount)


def _audit_view(grant: AidGrant) -> dict:
    return {
        "student_id": str(grant.student_id),
        "programme": grant.programme,
        "school_year": grant.school_year,
        "term": grant.term,
        "amount": str(grant.amount),
        "paid_on": grant.paid_on.isoformat(),
        "payment_reference": grant.payment_reference,
    }


def _paid(grant: AidGrant) -> education_events.AidPaid:
    """The payment as its event carries it; it counts in the school year's policy year."""
    return education_events.AidPaid(
        **event_refs(grant, grant.school_year),
        grant_id=grant.id,
        student_id=grant.student_id,
        programme=grant.programme,
        stage=grant.stage,
        school_year=grant.school_year,
        term=grant.term,
        amount=grant.amount,
        paid_on=grant.paid_on,
    )


#: A grant's one change, its payment: the audit view, and the payment in its event.
grant_changes = changes.of(view=_audit_view, data=_paid)
