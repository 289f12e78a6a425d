"""Family-doctor contracts (家庭医生签约服务), follow-ups (随访) and 履约 (DOMAIN §4.3).

A person has at most one contract in force on any day; signing is serialised by a lock of
the person's row. Contracts name 慢病 by code from two policy lists, 4类慢病 (each owed the
minimum of face-to-face follow-ups a year) and 6类慢病 (a personalised package); events
carry only the ``chronic`` flag (DOMAIN §1.7).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import health as health_events
from contracts.region import child_prefix_length as child_length
from contracts.region import region_prefix
from health import errors
from health.doctors import schemas
from health.events import changes
from health.medical.service import MedicalAssessor
from health.models import DoctorContract, FollowUp, Person
from health.policy import (
    KEY_CHRONIC_CONDITIONS,
    MIN_FACE_TO_FACE,
    OTHER_CHRONIC_CONDITIONS,
    policy,
)
from health.regions import child_code, rate
from kit.auth import Principal
from kit.clock import Clock
from kit.pagination import PageParams
from kit.problems import Problem
from kit.records import getter, page_in_region, record_in_region
from persons import event_refs, of_person

ACTIVE = "active"
ENDED = "ended"


#: The last day a contract is in force: its end date if terminated.
LAST_DAY = func.coalesce(DoctorContract.ended_on, DoctorContract.valid_until)


@dataclass
class _Person:
    """One person's year in the compliance report."""

    region_code: str
    name: str
    required: int
    contracts: list[DoctorContract]
    key_contracts: list[DoctorContract]
    face_to_face: int = 0


class ContractService:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    # --- contracts --------------------------------------------------------------------

    async def sign(
        self, session: AsyncSession, body: schemas.ContractCreate, actor: Principal
    ) -> DoctorContract:
        # The person's row is locked so two signings cannot both pass the overlap check.
        person = await record_in_region(
            session, Person, body.person_id, actor, what="person", for_update=True
        )
        if not person.in_household:
            raise errors.NOT_IN_HOUSEHOLD("the registry no longer lists this person in a household")
        self.clock.up_to_today(body.signed_on, "body.signed_on")
        await self._check_conditions(session, person.region_code, body)
        overlapping = (
            await session.execute(
                select(DoctorContract.id, DoctorContract.signed_on, LAST_DAY)
                .where(
                    DoctorContract.person_id == person.id,
                    DoctorContract.signed_on <= body.valid_until,
                    LAST_DAY >= body.signed_on,
                )
                .limit(1)
            )
        ).first()
        if overlapping is not None:
            other_id, start, end = overlapping
            raise contract_exists(
                f"{person.name} already has a contract from {start} to {end} ({other_id}); "
                "one contract a person at a time"
            )
        contract = DoctorContract(
            **of_person(person),
            doctor_name=body.doctor_name,
            team=body.team,
            institution=body.institution,
            signed_on=body.signed_on,
            valid_until=body.valid_until,
            paid=body.paid,
            fee=body.fee,
            chronic_conditions=list(body.chronic_conditions),
        )
        session.add(contract)
        await session.flush()
        await contract_changes.created(
            session, contract, health_events.CONTRACT_SIGNED, actor=actor
        )
        await MedicalAssessor(self.clock).reassess(session, [contract.household_id])
        return contract

    async def terminate(
        self,
        session: AsyncSession,
        contract_id: uuid.UUID,
        body: schemas.ContractTermination,
        actor: Principal,
    ) -> DoctorContract:
        contract = await self.get(session, contract_id, actor, for_update=True)
        if contract.status == ENDED:
            raise errors.CONTRACT_ENDED(f"the contract ended on {contract.ended_on}")
        self.clock.up_to_today(body.on, "body.on")
        if not contract.signed_on <= body.on <= contract.valid_until:
            raise _outside(contract, body.on, "body.on")
        later = (
            await session.execute(
                select(func.count())
                .select_from(FollowUp)
                .where(FollowUp.contract_id == contract.id, FollowUp.on > body.on)
            )
        ).scalar_one()
        if later:
            raise errors.FOLLOW_UPS_AFTER_END(f"{later} follow-up(s) are recorded after {body.on}")
        async with contract_changes.change(
            session, contract, health_events.CONTRACT_ENDED, actor=actor
        ):
            contract.status = ENDED
            contract.ended_on = body.on
            contract.end_reason = body.reason
        await MedicalAssessor(self.clock).reassess(session, [contract.household_id])
        return contract

    get = getter(DoctorContract, what="contract")

    async def search(
        self,
        session: AsyncSession,
        region: str,
        page: PageParams,
        *,
        person_id: uuid.UUID | None = None,
        active: bool | None = None,
    ) -> tuple[list[DoctorContract], int]:
        where = []
        if active is not None:
            today = self.clock.today()
            in_force = (
                (DoctorContract.status == ACTIVE)
                & (DoctorContract.signed_on <= today)
                & (DoctorContract.valid_until >= today)
            )
            where.append(in_force if active else ~in_force)
        newest_first = [DoctorContract.signed_on.desc(), DoctorContract.id]
        return await page_in_region(
            session, DoctorContract, region, page, newest_first, person_id=person_id, where=where
        )

    def in_force(self, contract: DoctorContract) -> bool:
        today = self.clock.today()
        return contract.status == ACTIVE and contract.signed_on <= today <= contract.valid_until

    async def condition_names(
        self, session: AsyncSession, contract: DoctorContract
    ) -> list[schemas.ConditionOut]:
        key, other = await self._lists(session, contract.region_code, contract.signed_on.year)
        return [
            schemas.ConditionOut(
                code=code, name=key.get(code) or other.get(code, code), key=code in key
            )
            for code in contract.chronic_conditions
        ]

    # --- follow-ups -------------------------------------------------------------------

    async def follow_up(
        self,
        session: AsyncSession,
        contract_id: uuid.UUID,
        body: schemas.FollowUpCreate,
        actor: Principal,
    ) -> FollowUp:
        # Locked so a termination cannot slip in between the check and the insert.
        contract = await self.get(session, contract_id, actor, for_update=True)
        self.clock.up_to_today(body.on, "body.on")
        if not contract.signed_on <= body.on <= (contract.ended_on or contract.valid_until):
            raise _outside(contract, body.on, "body.on")
        if body.condition is not None and body.condition not in contract.chronic_conditions:
            raise errors.CONDITION_NOT_CONTRACTED(
                f"{body.condition} is not among the contract's conditions "
                f"({', '.join(contract.chronic_conditions) or 'none'})"
            )
        follow_up = FollowUp(
            contract_id=contract.id,
            person_id=contract.person_id,
            on=body.on,
            face_to_face=body.face_to_face,
            condition=body.condition,
            disposition=body.disposition,
        )
        session.add(follow_up)
        await session.flush()
        await changes.record(
            session,
            contract,
            actor=actor,
            action="health.contract.follow_up",
            after={
                "follow_up_id": str(follow_up.id),
                "on": body.on.isoformat(),
                "face_to_face": body.face_to_face,
                "condition": body.condition,
            },
        )
        return follow_up

    async def follow_ups(
        self, session: AsyncSession, contract_id: uuid.UUID, actor: Principal
    ) -> list[FollowUp]:
        contract = await self.get(session, contract_id, actor)
        rows = await session.execute(
            select(FollowUp)
            .where(FollowUp.contract_id == contract.id)
            .order_by(FollowUp.on, FollowUp.created_at)
        )
        return list(rows.scalars())

    # --- 签约率 and 履约率 ---------------------------------------------------------------

    async def report(
        self, session: AsyncSession, region: str, year: int
    ) -> schemas.FamilyDoctorReport:
        length = child_length(region)
        prefix = region_prefix(region)
        group = func.substr(Person.region_code, 1, length)
        persons = dict(
            (
                await session.execute(
                    select(group, func.count(Person.id))
                    .where(Person.in_household, Person.region_code.startswith(prefix))
                    .group_by(group)
                )
            ).all()
        )
        people = await self._year(session, prefix, year)
        rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for code, count in persons.items():
            rows[child_code(code, length)]["persons"] = count
        for person in people.values():
            row = rows[child_code(person.region_code, length)]
            row["contracted"] += 1
            row["contracts"] += len(person.contracts)
            row["paid"] += sum(1 for c in person.contracts if c.paid)
            row["free"] += sum(1 for c in person.contracts if not c.paid)
            if person.key_contracts:
                row["key_chronic"] += 1
                row["compliant"] += person.face_to_face >= person.required
        regions = [_report_row(code, rows[code]) for code in sorted(rows)]
        total: dict[str, int] = defaultdict(int)
        for code in rows:
            for name, value in rows[code].items():
                total[name] += value
        return schemas.FamilyDoctorReport(
            year=year, total=_report_row(region, total), regions=regions
        )

    async def non_compliant(
        self, session: AsyncSession, region: str, year: int, page: PageParams
    ) -> tuple[list[schemas.NonCompliantContract], int]:
        """Contracts with a 4类慢病 whose person had fewer face-to-face follow-ups in the
        year than the minimum (未履约)."""
        people = await self._year(session, region_prefix(region), year)
        items = [
            schemas.NonCompliantContract(
                contract_id=contract.id,
                person_id=contract.person_id,
                person_name=person.name,
                region_code=person.region_code,
                doctor_name=contract.doctor_name,
                team=contract.team,
                face_to_face_follow_ups=person.face_to_face,
                required=person.required,
            )
            for person in people.values()
            if person.key_contracts and person.face_to_face < person.required
            for contract in person.key_contracts
        ]
        items.sort(key=lambda i: (i.region_code, i.person_name, str(i.contract_id)))
        return items[page.offset : page.offset + page.size], len(items)

    async def _year(
        self, session: AsyncSession, prefix: str, year: int
    ) -> dict[uuid.UUID, _Person]:
        """Every person of the region living in a household with a contract in force at
        some time in ``year``, with their face-to-face follow-ups of the year."""
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        contracts = (
            await session.execute(
                select(DoctorContract, Person.region_code, Person.name)
                .join(Person, Person.id == DoctorContract.person_id)
                .where(
                    Person.in_household,
                    Person.region_code.startswith(prefix),
                    DoctorContract.signed_on <= last,
                    LAST_DAY >= first,
                )
                .order_by(DoctorContract.signed_on)
            )
        ).all()
        key_lists = await policy.overrides(session, KEY_CHRONIC_CONDITIONS)
        minimums = await policy.overrides(session, MIN_FACE_TO_FACE)
        people: dict[uuid.UUID, _Person] = {}
        for contract, region_code, name in contracts:
            person = people.get(contract.person_id)
            if person is None:
                person = people[contract.person_id] = _Person(
                    region_code=region_code,
                    name=name,
                    required=minimums.value(region_code, year),
                    contracts=[],
                    key_contracts=[],
                )
            person.contracts.append(contract)
            key = key_lists.value(region_code, year)
            if any(code in key for code in contract.chronic_conditions):
                person.key_contracts.append(contract)
        if people:
            # Every face-to-face follow-up of the person in the year counts towards the
            # minimum (每年不少于4次面对面随访): it is the person who is seen, not a disease.
            counts = await session.execute(
                select(FollowUp.person_id, func.count())
                .where(
                    FollowUp.person_id.in_(list(people)),
                    FollowUp.face_to_face,
                    FollowUp.on >= first,
                    FollowUp.on <= last,
                )
                .group_by(FollowUp.person_id)
            )
            for person_id, count in counts:
                people[person_id].face_to_face = count
        return people

    # --- inside a transaction ---------------------------------------------------------

    async def _lists(
        self, session: AsyncSession, region_code: str, year: int
    ) -> tuple[dict[str, str], dict[str, str]]:
        key = await policy.value(
            session, KEY_CHRONIC_CONDITIONS, region_code=region_code, year=year
        )
        other = await policy.value(
            session, OTHER_CHRONIC_CONDITIONS, region_code=region_code, year=year
        )
        return key, other

    async def _check_conditions(
        self, session: AsyncSession, region_code: str, body: schemas.ContractCreate
    ) -> None:
        key, other = await self._lists(session, region_code, body.signed_on.year)
        for index, code in enumerate(body.chronic_conditions):
            if code not in key and code not in other:
                raise errors.UNKNOWN_CONDITION(
                    f"{code} is on neither 慢病 list of the region and year "
                    f"({', '.join([*key, *other])})",
                    field=f"body.chronic_conditions[{index}]",
                )


def _event(contract: DoctorContract) -> health_events.ContractEvent:
    """The contract as its events carry it."""
    return health_events.ContractEvent(
        contract_id=contract.id,
        **event_refs(contract, contract.signed_on.year),
        signed_on=contract.signed_on,
        valid_until=contract.valid_until,
        paid=contract.paid,
        chronic=bool(contract.chronic_conditions),
        status=contract.status,
        ended_on=contract.ended_on,
    )


def _audit_view(contract: DoctorContract) -> dict:
    return {
        "status": contract.status,
        "doctor_name": contract.doctor_name,
        "team": contract.team,
        "signed_on": contract.signed_on.isoformat(),
        "valid_until": contract.valid_until.isoformat(),
        "paid": contract.paid,
        "fee": str(contract.fee),
        "chronic_conditions": list(contract.chronic_conditions),
        "ended_on": contract.ended_on.isoformat() if contract.ended_on else None,
        "end_reason": contract.end_reason,
    }


#: A contract's changes: its audit view and its events' data.
contract_changes = changes.of(view=_audit_view, data=_event)


def _outside(contract: DoctorContract, on: dt.date, field: str) -> Problem:
    end = contract.ended_on or contract.valid_until
    return errors.OUTSIDE_CONTRACT(
        f"{on} is outside the contract ({contract.signed_on} to {end})", field=field
    )


def _report_row(code: str, counts: dict[str, int]) -> schemas.FamilyDoctorRow:
    persons, contracted = counts.get("persons", 0), counts.get("contracted", 0)
    key_chronic, compliant = counts.get("key_chronic", 0), counts.get("compliant", 0)
    return schemas.FamilyDoctorRow(
        region_code=code,
        persons=persons,
        contracted=contracted,
        contract_rate=rate(contracted, persons),
        contracts=counts.get("contracts", 0),
        paid=counts.get("paid", 0),
        free=counts.get("free", 0),
        key_chronic=key_chronic,
        compliant=compliant,
        compliance_rate=rate(compliant, key_chronic),
    )


def contract_exists(
    detail: str = "the person has a contract in that period; one contract a person at a time",
) -> Problem:
    return errors.CONTRACT_EXISTS(detail)
