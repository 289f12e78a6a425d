"""Handlers of the events the gateway projects into ``household_status``.

Adding a producing service = adding its handlers here (and its events to the catalogue).
The kit makes each handler run at most once per event and never on a stale one.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import registry as registry_events
from gateway.models import HouseholdStatus
from gateway.status.dimensions import initial_dimensions
from kit.app import ConsumerDefinition
from kit.envelope import Envelope


async def _upsert_registry_basics(
    session: AsyncSession, event: Envelope, snapshot: registry_events.HouseholdSnapshot
) -> None:
    head = next((m.name for m in snapshot.members if m.relation == "head"), None)
    basics = dict(
        region_code=snapshot.region_code,
        head_name=head,
        member_count=len(snapshot.members),
        poverty_state=snapshot.poverty_state,
        assistance_type=snapshot.assistance_type,
        monitoring_category=snapshot.monitoring_category,
        primary_cause=snapshot.primary_cause,
        causes=[c.value for c in snapshot.causes],
        registry_event_id=event.id,
        registry_event_at=event.time,
    )
    statement = insert(HouseholdStatus.__table__).values(
        household_id=snapshot.household_id, dimensions=initial_dimensions(), **basics
    )
    # Dimensions fed by other services are kept; only the registry's basics change here.
    await session.execute(
        statement.on_conflict_do_update(index_elements=["household_id"], set_=basics)
    )


async def on_household_snapshot(session: AsyncSession, event: Envelope) -> None:
    await _upsert_registry_basics(
        session, event, registry_events.HouseholdSnapshot.model_validate(event.data)
    )


async def on_member_event(session: AsyncSession, event: Envelope) -> None:
    payload = registry_events.MemberEvent.model_validate(event.data)
    await _upsert_registry_basics(session, event, payload.household)


REGISTRY = ConsumerDefinition(
    source_service="registry",
    handlers={
        registry_events.HOUSEHOLD_CREATED.name: on_household_snapshot,
        registry_events.HOUSEHOLD_UPDATED.name: on_household_snapshot,
        registry_events.MEMBER_ADDED.name: on_member_event,
        registry_events.MEMBER_UPDATED.name: on_member_event,
        registry_events.MEMBER_REMOVED.name: on_member_event,
        registry_events.HOUSEHOLD_STATE_CHANGED.name: on_household_snapshot,
        registry_events.HOUSEHOLD_ADJUSTED.name: on_household_snapshot,
    },
)

CONSUMERS = [REGISTRY]
