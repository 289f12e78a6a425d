"""A service's persons table kept from the registry's events and read in the caller's
region: who lives in which household, with the household's poverty facts."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import CATALOGUE
from contracts.events import registry as registry_events
from contracts.region import region_prefix
from kit.app import ConsumerDefinition, subscription
from kit.auth import Principal, ensure_visible
from kit.bus import wait_until_consumed
from kit.db import among
from kit.envelope import Envelope
from persons import errors
from persons.model import RegistryPerson

Person = TypeVar("Person", bound=RegistryPerson)

#: Called once at the end of each consumer transaction that applied registry events, with
#: the persons of every household they carried (all of them, those who left included):
#: what the service derives from them follows there, set-wise (a batch brings hundreds).
PersonsChanged = Callable[[AsyncSession, list[Person]], Awaitable[None]]

#: The columns a household's snapshot sets, in the order of :data:`_UPSERT`'s arrays.
_UPSERT_COLUMNS = (
    "id",
    "household_id",
    "region_code",
    "name",
    "has_id_number",
    "birth_date",
    "relation",
    "poverty_state",
    "assistance_type",
    "policy_continuity_until",
    "disability_level",
    "in_household",
)
#: Every member of a transaction's households in one constant statement (prepared once),
#: a column an array: a multi-row VALUES would be compiled anew for each number of rows,
#: and a county's batch would pass PostgreSQL's limit of 32,767 parameters.
_UPSERT = """
    INSERT INTO {table} (
        id, household_id, region_code, name, has_id_number, birth_date, relation,
        poverty_state, assistance_type, policy_continuity_until, disability_level,
        in_household
    )
    SELECT * FROM unnest(
        CAST(:id AS uuid[]), CAST(:household_id AS uuid[]), CAST(:region_code AS varchar[]),
        CAST(:name AS varchar[]), CAST(:has_id_number AS boolean[]),
        CAST(:birth_date AS date[]), CAST(:relation AS varchar[]),
        CAST(:poverty_state AS varchar[]), CAST(:assistance_type AS varchar[]),
        CAST(:policy_continuity_until AS date[]), CAST(:disability_level AS integer[]),
        CAST(:in_household AS boolean[])
    )
    ON CONFLICT (id) DO UPDATE SET
        household_id = excluded.household_id,
        region_code = excluded.region_code,
        name = excluded.name,
        has_id_number = excluded.has_id_number,
        birth_date = excluded.birth_date,
        relation = excluded.relation,
        poverty_state = excluded.poverty_state,
        assistance_type = excluded.assistance_type,
        policy_continuity_until = excluded.policy_continuity_until,
        disability_level = excluded.disability_level,
        in_household = excluded.in_household
"""
#: The persons of the households whom no snapshot of the transaction lists: they left.
#: Locked in id order.
_LEAVE = """
    UPDATE {table} SET in_household = false
    WHERE id IN (
        SELECT id FROM {table}
        WHERE household_id = ANY(CAST(:households AS uuid[]))
            AND in_household
            AND NOT id = ANY(CAST(:stored AS uuid[]))
        ORDER BY id
        FOR UPDATE
    )
"""


def of_person(person: RegistryPerson) -> dict[str, Any]:
    """The fields a service's new record about a person copies from them (whose household,
    where: what the record is then found and scoped by)."""
    return dict(
        person_id=person.id, household_id=person.household_id, region_code=person.region_code
    )


def event_refs(record: Any, policy_year: int) -> dict[str, Any]:
    """The fields every department event about a person's record carries
    (``contracts.events.common.PersonRef``): whose household, whose person, where, and the
    policy year it counts in."""
    return dict(
        household_id=record.household_id,
        person_id=record.person_id,
        region_code=record.region_code,
        policy_year=policy_year,
    )


def person_row(
    household: registry_events.HouseholdSnapshot, member: registry_events.MemberSnapshot
) -> dict[str, Any]:
    """A member's row as the household's snapshot has them (``in_household`` aside, which
    depends on the household's later snapshots): the one place a persons row is built."""
    return dict(
        id=member.member_id,
        household_id=household.household_id,
        region_code=household.region_code,
        name=member.name,
        has_id_number=member.has_id_number,
        birth_date=member.birth_date,
        relation=member.relation.value,
        poverty_state=household.poverty_state.value,
        assistance_type=household.assistance_type.value,
        policy_continuity_until=household.policy_continuity_until,
        disability_level=member.disability_level,
    )


class Persons(Generic[Person]):
    """One service's ``persons`` table (``model``, a ``RegistryPerson`` table of its own
    metadata): applied from the registry's household and member events, each of which
    carries the whole household, and read in the caller's region.

    The consumer applies a transaction's events set-wise: its handlers only gather the
    households' snapshots, and the end of the transaction writes them all at once
    (:meth:`apply_households`) and tells the service once (``on_persons_changed``)."""

    def __init__(self, model: type[Person]) -> None:
        self.model = model
        self.table = model.__table__  # type: ignore[attr-defined]
        # A plain string (the replay deep-copies ``session.info`` to set a bad event's
        # gatherings aside), one per instance (two read models never share one).
        self._gathered = f"persons.gathered.{self.table.name}.{id(self)}"
        self._upsert = text(_UPSERT.format(table=self.table.name))
        self._leave = text(_LEAVE.format(table=self.table.name))

    def _gather(self, session: AsyncSession, household: registry_events.HouseholdSnapshot) -> None:
        """Keep the household's snapshot for the end of the transaction, after those of
        the events before it."""
        session.info.setdefault(self._gathered, []).append(household)

    async def _apply_gathered(self, session: AsyncSession) -> list[Person] | None:
        """Write what :meth:`_gather` kept in this transaction (see :meth:`apply_households`);
        None if it kept nothing."""
        gathered = session.info.pop(self._gathered, None)
        if not gathered:
            return None
        return await self.apply_households(session, gathered)

    async def apply_households(
        self, session: AsyncSession, households: list[registry_events.HouseholdSnapshot]
    ) -> list[Person]:
        """Apply the snapshots (in the order of their events, a household's more than once
        perhaps) as one at a time would: every person listed is stored as the last
        snapshot listing them has them, in the household it names, and is in it if that
        household's last snapshot still lists them; the households' other persons leave
        (the service's records about them stay). So a member added and removed by two
        events of one batch is kept, as having left, and a person two households list
        is where the later snapshot has them. Returns the households' persons (those who
        left included, sorted by id), whose facts may have changed.

        One statement each, whatever the number of households: an upsert of every person
        listed, an update of the others who left, a select of every person. Rows are
        locked in the order of their ids, so two transactions never wait for each other
        crosswise."""
        if not households:
            return []
        members: dict[uuid.UUID, dict[str, Any]] = {}
        for household in households:
            for m in household.members:
                members[m.member_id] = person_row(household, m)
        # Who each household's last snapshot lists (a later one replaces an earlier one).
        listed = {h.household_id: {m.member_id for m in h.members} for h in households}
        household_ids = sorted(listed)
        stored = sorted(members)
        if stored:
            # In their household if the last snapshot of the household that last listed
            # them still lists them.
            rows = [
                {**members[p], "in_household": p in listed[members[p]["household_id"]]}
                for p in stored
            ]
            await session.execute(
                self._upsert, {name: [row[name] for row in rows] for name in _UPSERT_COLUMNS}
            )
        await session.execute(self._leave, {"households": household_ids, "stored": stored})
        found = await session.execute(
            select(self.model)
            .where(among(self.model.household_id, household_ids))
            .order_by(self.model.id)
            # The session may hold some of these persons from before this transaction's
            # statements changed their rows: read them as they are now.
            .execution_options(populate_existing=True)
        )
        return list(found.scalars())

    def registry_consumer(self, on_persons_changed: PersonsChanged[Person]) -> ConsumerDefinition:
        """The registry's household and member events, each carrying the whole household:
        gathered by the handlers, applied together at the end of the consumer's
        transaction (its ``at_transaction_end``), then ``on_persons_changed`` once with
        the persons of all those households."""

        async def on_snapshot(session: AsyncSession, event: Envelope) -> None:
            self._gather(session, registry_events.HouseholdSnapshot.model_validate(event.data))

        async def on_member_event(session: AsyncSession, event: Envelope) -> None:
            self._gather(session, registry_events.MemberEvent.model_validate(event.data).household)

        async def at_transaction_end(session: AsyncSession) -> None:
            changed = await self._apply_gathered(session)
            if changed is not None:
                await on_persons_changed(session, changed)

        return ConsumerDefinition(
            source_service="registry",
            catalogue=CATALOGUE,
            handlers={
                **{spec.name: on_snapshot for spec in registry_events.SNAPSHOT_EVENTS},
                **{spec.name: on_member_event for spec in registry_events.MEMBER_EVENTS},
            },
            at_transaction_end=at_transaction_end,
        )

    async def named(self, session: AsyncSession, person_id: uuid.UUID, actor: Principal) -> Person:
        """The person a request body names (``body.person_id``), in the caller's region; a
        person unknown here or outside the region is a 422 UNKNOWN_PERSON (the body is at
        fault)."""
        person = await session.get(self.model, person_id)
        if person is None or not actor.can_access(person.region_code):
            raise errors.UNKNOWN_PERSON(
                "no person with this id in your region (the registry's member id)"
            )
        return person

    async def of_household(
        self, session: AsyncSession, household_id: uuid.UUID, actor: Principal
    ) -> list[Person]:
        """Who lives in the household now (those who left are not listed), oldest first; a
        household unknown here or outside the caller's region is a 404, as absent."""
        found = await session.execute(
            select(self.model)
            .where(self.model.household_id == household_id, self.model.in_household)
            .order_by(self.model.birth_date.nulls_last(), self.model.id)
        )
        members = list(found.scalars())
        ensure_visible(actor, members[0].region_code if members else None, what="household")
        return members

    async def living_in(self, session: AsyncSession, region: str) -> list[Person]:
        """Everyone in a household of the region now, by id (what a demo loader draws from,
        in the same order every time)."""
        found = await session.execute(
            select(self.model)
            .where(
                self.model.in_household, self.model.region_code.startswith(region_prefix(region))
            )
            .order_by(self.model.id)
        )
        return list(found.scalars())

    @staticmethod
    async def caught_up(nats_url: str, service: str, **waiting: Any) -> None:
        """Until ``service``'s consumer of the registry's events has applied them all (what
        a demo loader waits for before it reads the persons; kit.bus)."""
        registry = subscription(service, "registry")
        await wait_until_consumed(nats_url, registry.stream, registry.durable, **waiting)
