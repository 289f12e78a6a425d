"""Enrolment (参保) and the premium subsidy (资助参保, DOMAIN §4.1).

The subsidy follows the person: when a registry event makes someone registered poor, or
takes them out of every subsidised category, their enrolments of the current year and
later are recomputed and republished (``health.enrolment.updated``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import health as health_events
from contracts.region import child_prefix_length, region_prefix
from health import errors
from health.enrolment import schemas
from health.enrolment.eligibility import categories
from health.events import changes
from health.medical.service import MedicalAssessor
from health.models import Enrolment, Person
from health.policy import PREMIUM, SUBSIDISED_CATEGORIES, policy
from health.regions import rate
from kit.auth import Principal, ensure_visible
from kit.clock import Clock
from kit.db import among
from kit.policy import Overrides
from kit.problems import Problem
from kit.records import getter
from persons import event_refs, of_person

ACTIVE = "active"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class Tariff:
    """The premium and the subsidised categories (DOMAIN §4.1) of every region and year:
    every override of both, loaded in two queries, so pricing a batch's enrolments asks
    no query for each."""

    premium: Overrides
    subsidised: Overrides

    @classmethod
    async def load(cls, session: AsyncSession) -> Tariff:
        return cls(
            premium=await policy.overrides(session, PREMIUM),
            subsidised=await policy.overrides(session, SUBSIDISED_CATEGORIES),
        )


class EnrolmentService:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def person(self, session: AsyncSession, person_id: uuid.UUID, actor: Principal) -> Person:
        person = await session.get(Person, person_id)
        ensure_visible(actor, person and person.region_code, what="person")
        return person

    async def enrol(
        self, session: AsyncSession, body: schemas.EnrolmentCreate, actor: Principal
    ) -> Enrolment:
        person = await self.person(session, body.person_id, actor)
        if not person.in_household:
            raise errors.NOT_IN_HOUSEHOLD("the registry no longer lists this person in a household")
        if await self._enrolment_of(session, person.id, body.year) is not None:
            raise already_enrolled(f"{person.name} is already insured for {body.year}")
        enrolment = await self._create(
            session, person, body.year, actor, await Tariff.load(session)
        )
        await MedicalAssessor(self.clock).reassess(session, [person.household_id])
        return enrolment

    async def enrol_household(
        self, session: AsyncSession, household_id: uuid.UUID, year: int, actor: Principal
    ) -> list[Enrolment]:
        """Every member of the household not yet insured for ``year`` (one transaction);
        409 ALREADY_ENROLLED when every member is insured already."""
        members = list(
            (
                await session.execute(
                    select(Person)
                    .where(Person.household_id == household_id, Person.in_household)
                    .order_by(Person.id)
                )
            ).scalars()
        )
        ensure_visible(actor, members[0].region_code if members else None, what="household")
        enrolled = set(
            (
                await session.execute(
                    select(Enrolment.person_id).where(
                        Enrolment.household_id == household_id,
                        Enrolment.year == year,
                        Enrolment.status == ACTIVE,
                    )
                )
            ).scalars()
        )
        if all(person.id in enrolled for person in members):
            raise errors.ALREADY_ENROLLED(
                f"every member of the household is insured for {year} already"
            )
        tariff = await Tariff.load(session)
        created = [
            await self._create(session, person, year, actor, tariff)
            for person in members
            if person.id not in enrolled
        ]
        await MedicalAssessor(self.clock).reassess(session, [household_id])
        return created

    async def cancel(
        self,
        session: AsyncSession,
        enrolment_id: uuid.UUID,
        body: schemas.EnrolmentCancel,
        actor: Principal,
    ) -> Enrolment:
        enrolment = await self.get(session, enrolment_id, actor, for_update=True)
        if enrolment.status == CANCELLED:
            raise errors.CANCELLED("the enrolment is cancelled")
        async with enrolment_changes.change(
            session, enrolment, health_events.ENROLMENT_CANCELLED, actor=actor
        ):
            enrolment.status = CANCELLED
            enrolment.cancelled_on = self.clock.today()
            enrolment.cancel_reason = body.reason
        await MedicalAssessor(self.clock).reassess(session, [enrolment.household_id])
        return enrolment

    get = getter(Enrolment, what="enrolment")

    async def follow(self, session: AsyncSession, changed: list[Person]) -> None:
        """Recompute the subsidy of the changed persons' enrolments from this year on
        (called by the registry consumer, in its transaction, with the persons of all the
        households of its batch): one query for the enrolments, one for each policy
        parameter, and a change recorded for each enrolment whose subsidy changed."""
        if not changed:
            return
        by_id = {person.id: person for person in changed}
        today = self.clock.today()
        enrolments = (
            await session.execute(
                select(Enrolment)
                .where(
                    among(Enrolment.person_id, sorted(by_id)),
                    Enrolment.year >= today.year,
                    Enrolment.status == ACTIVE,
                )
                .order_by(Enrolment.id)
                .with_for_update()
            )
        ).scalars()
        tariff = await Tariff.load(session)
        # The enrolments' own rows are written together at the next query, not one by one
        # before each change's event and audit entry.
        with session.no_autoflush:
            for enrolment in enrolments:
                person = by_id[enrolment.person_id]
                async with enrolment_changes.change(
                    session,
                    enrolment,
                    health_events.ENROLMENT_UPDATED,
                    actor="registry-events",
                    if_changed=True,
                ):
                    self._price(enrolment, person, tariff)
                    enrolment.region_code = person.region_code

    async def participation(
        self, session: AsyncSession, region: str, year: int
    ) -> schemas.ParticipationReport:
        """参保率 of the region and of each region one level down."""
        group = func.substr(Person.region_code, 1, child_prefix_length(region))
        enrolled = Enrolment.id.is_not(None)
        subsidised = Enrolment.subsidy > 0
        rows = await session.execute(
            select(
                group.label("code"),
                func.count(Person.id),
                func.count(Enrolment.id),
                func.count(case((subsidised, 1))),
                func.coalesce(func.sum(Enrolment.subsidy), 0),
                func.coalesce(func.sum(case((enrolled, Enrolment.premium))), 0),
            )
            .select_from(Person)
            .outerjoin(
                Enrolment,
                (Enrolment.person_id == Person.id)
                & (Enrolment.year == year)
                & (Enrolment.status == ACTIVE),
            )
            .where(Person.in_household, Person.region_code.startswith(region_prefix(region)))
            .group_by(group)
            .order_by(group)
        )
        regions = [
            _row(code.ljust(12, "0"), persons, count, sub, subsidy, premium)
            for code, persons, count, sub, subsidy, premium in rows
        ]
        total = _row(
            region,
            sum(r.persons for r in regions),
            sum(r.enrolled for r in regions),
            sum(r.subsidised for r in regions),
            sum((r.subsidy_total for r in regions), Decimal("0.00")),
            sum((r.premium_total for r in regions), Decimal("0.00")),
        )
        return schemas.ParticipationReport(year=year, total=total, regions=regions)

    # --- inside a transaction ---------------------------------------------------------

    async def _create(
        self, session: AsyncSession, person: Person, year: int, actor: Principal, tariff: Tariff
    ) -> Enrolment:
        enrolment = Enrolment(
            **of_person(person),
            year=year,
            enrolled_on=self.clock.today(),
        )
        self._price(enrolment, person, tariff)
        session.add(enrolment)
        await session.flush()
        await enrolment_changes.created(
            session, enrolment, health_events.ENROLMENT_RECORDED, actor=actor
        )
        return enrolment

    def _price(self, enrolment: Enrolment, person: Person, tariff: Tariff) -> None:
        """Premium of the year and the subsidy of the categories the person is in today
        (a past year keeps the categories of its last day)."""
        on = min(self.clock.today(), dt.date(enrolment.year, 12, 31))
        premium = tariff.premium.value(person.region_code, enrolment.year)
        subsidised = tariff.subsidised.value(person.region_code, enrolment.year)
        held = categories(person, on, subsidised)
        enrolment.premium = premium
        enrolment.subsidy = premium if held else Decimal("0.00")
        enrolment.personal_premium = premium - enrolment.subsidy
        enrolment.subsidy_categories = [c.value for c in held]

    async def _enrolment_of(
        self, session: AsyncSession, person_id: uuid.UUID, year: int
    ) -> Enrolment | None:
        return (
            await session.execute(
                select(Enrolment).where(
                    Enrolment.person_id == person_id,
                    Enrolment.year == year,
                    Enrolment.status == ACTIVE,
                )
            )
        ).scalar_one_or_none()


def _event(enrolment: Enrolment) -> health_events.EnrolmentEvent:
    """The enrolment as its events carry it."""
    return health_events.EnrolmentEvent(
        enrolment_id=enrolment.id,
        **event_refs(enrolment, enrolment.year),
        year=enrolment.year,
        status=enrolment.status,
        premium=enrolment.premium,
        subsidy=enrolment.subsidy,
        personal_premium=enrolment.personal_premium,
        subsidy_categories=list(enrolment.subsidy_categories),
    )


def _audit_view(enrolment: Enrolment) -> dict:
    return {
        "status": enrolment.status,
        "premium": str(enrolment.premium),
        "subsidy": str(enrolment.subsidy),
        "personal_premium": str(enrolment.personal_premium),
        "subsidy_categories": list(enrolment.subsidy_categories),
        "region_code": enrolment.region_code,
    }


#: An enrolment's changes: its audit view and its events' data.
enrolment_changes = changes.of(view=_audit_view, data=_event)


def _row(code, persons, enrolled, subsidised, subsidy, premium) -> schemas.ParticipationRow:
    return schemas.ParticipationRow(
        region_code=code,
        persons=persons,
        enrolled=enrolled,
        participation_rate=rate(enrolled, persons),
        subsidised=subsidised,
        subsidy_total=Decimal(subsidy).quantize(Decimal("0.01")),
        premium_total=Decimal(premium).quantize(Decimal("0.01")),
    )


def already_enrolled(detail: str = "the person is already insured for that year") -> Problem:
    return errors.ALREADY_ENROLLED(detail, field="body.person_id")
