"""The registry's households and members as the health service needs them (DOMAIN §4.1:
"resolved from the registry and low_income read models"): one row per person, rewritten
from each household event, which carries the whole household."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import registry as registry_events
from health.models import Person
from kit.app import ConsumerDefinition
from kit.envelope import Envelope

persons = Person.__table__


async def apply_household(
    session: AsyncSession, household: registry_events.HouseholdSnapshot
) -> list[Person]:
    """Store every member as the snapshot has them; members no longer listed leave the
    household (their claims and enrolments stay). Returns the persons whose facts may
    have changed."""
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
        statement = insert(persons).values(rows)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["id"],
                set_={name: statement.excluded[name] for name in rows[0] if name != "id"},
            )
        )
    listed = [m.member_id for m in household.members]
    await session.execute(
        update(persons)
        .where(persons.c.household_id == household.household_id, persons.c.id.not_in(listed))
        .values(in_household=False)
    )
    found = await session.execute(
        select(Person).where(Person.household_id == household.household_id)
    )
    return list(found.scalars())


def registry_consumer(
    on_persons_changed: Callable[[AsyncSession, list[Person]], Awaitable[None]],
) -> ConsumerDefinition:
    """The registry's household and member events, each carrying the whole household."""

    async def on_snapshot(session: AsyncSession, event: Envelope) -> None:
        household = registry_events.HouseholdSnapshot.model_validate(event.data)
        await on_persons_changed(session, await apply_household(session, household))

    async def on_member_event(session: AsyncSession, event: Envelope) -> None:
        household = registry_events.MemberEvent.model_validate(event.data).household
        await on_persons_changed(session, await apply_household(session, household))

    return ConsumerDefinition(
        source_service="registry",
        handlers={
            **{spec.name: on_snapshot for spec in registry_events.SNAPSHOT_EVENTS},
            **{spec.name: on_member_event for spec in registry_events.MEMBER_EVENTS},
        },
    )
