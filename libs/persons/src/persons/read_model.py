"""A service's persons table kept from the registry's events and read in the caller's
region: who lives in which household, with the household's poverty facts."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import CATALOGUE
from contracts.events import registry as registry_events
from kit.app import ConsumerDefinition
from kit.auth import Principal, ensure_visible
from kit.envelope import Envelope
from persons import errors
from persons.model import RegistryPerson

Person = TypeVar("Person", bound=RegistryPerson)

#: Called in the consumer's transaction with the persons of a household just applied (all of
#: them, those who left included): what the service derives from them follows there.
PersonsChanged = Callable[[AsyncSession, list[Person]], Awaitable[None]]


class Persons(Generic[Person]):
    """One service's ``persons`` table (``model``, a ``RegistryPerson`` table of its own
    metadata): applied from the registry's household and member events, each of which
    carries the whole household, and read in the caller's region."""

    def __init__(self, model: type[Person]) -> None:
        self.model = model
        self.table = model.__table__  # type: ignore[attr-defined]

    async def apply_household(
        self, session: AsyncSession, household: registry_events.HouseholdSnapshot
    ) -> list[Person]:
        """Store every member as the snapshot has them; members no longer listed leave the
        household (the service's records about them stay). Returns the household's persons,
        whose facts may have changed."""
        rows = [
            dict(
                id=m.member_id,
                household_id=household.household_id,
                region_code=household.region_code,
                name=m.name,
                has_id_number=m.has_id_number,
                birth_date=m.birth_date,
                relation=m.relation.value,
                poverty_state=household.poverty_state.value,
                assistance_type=household.assistance_type.value,
                policy_continuity_until=household.policy_continuity_until,
                disability_level=m.disability_level,
                in_household=True,
            )
            for m in household.members
        ]
        if rows:
            statement = insert(self.table).values(rows)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["id"],
                    set_={name: statement.excluded[name] for name in rows[0] if name != "id"},
                )
            )
        listed = [m.member_id for m in household.members]
        await session.execute(
            update(self.table)
            .where(
                self.table.c.household_id == household.household_id,
                self.table.c.id.not_in(listed),
            )
            .values(in_household=False)
        )
        found = await session.execute(
            select(self.model).where(self.model.household_id == household.household_id)
        )
        return list(found.scalars())

    def registry_consumer(self, on_persons_changed: PersonsChanged[Person]) -> ConsumerDefinition:
        """The registry's household and member events, each carrying the whole household:
        applied, then ``on_persons_changed`` with the household's persons."""

        async def on_snapshot(session: AsyncSession, event: Envelope) -> None:
            household = registry_events.HouseholdSnapshot.model_validate(event.data)
            await on_persons_changed(session, await self.apply_household(session, household))

        async def on_member_event(session: AsyncSession, event: Envelope) -> None:
            household = registry_events.MemberEvent.model_validate(event.data).household
            await on_persons_changed(session, await self.apply_household(session, household))

        return ConsumerDefinition(
            source_service="registry",
            catalogue=CATALOGUE,
            handlers={
                **{spec.name: on_snapshot for spec in registry_events.SNAPSHOT_EVENTS},
                **{spec.name: on_member_event for spec in registry_events.MEMBER_EVENTS},
            },
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
