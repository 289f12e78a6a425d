"""Every service's events the gateway projects, one ConsumerDefinition per producer.

Adding a producing service = adding its handlers (in ``gateway.projection``) and its
definition here, and naming the gateway as a consumer in the event catalogue.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.projection.departments import DEPARTMENT_RECORDS, EDUCATION, HEALTH, HOUSING
from gateway.projection.household import prepare_households, write_households
from gateway.projection.registry import REGISTRY
from gateway.projection.statistics import write_counters
from gateway.public_feed import publish_public
from kit.envelope import Envelope


async def prepare_projection(session: AsyncSession, events: list[Envelope]) -> None:
    """Load (and lock) at once every household and department record the events name."""
    await prepare_households(session, events)
    for records in DEPARTMENT_RECORDS:
        await records.prepare(session, events)


async def write_projection(session: AsyncSession) -> None:
    """What a transaction's handlers gathered: the households' rows and department
    records, then every region counter they moved, each written once."""
    await write_households(session)
    for records in DEPARTMENT_RECORDS:
        await records.write(session)
    await write_counters(session)


#: The projections: a transaction loads the households its events name at once, handlers
#: edit them in memory and gather region counter changes, and the transaction's end writes
#: both once. What a rebuild replays.
PROJECTIONS = [
    dataclasses.replace(definition, prepare=prepare_projection, at_transaction_end=write_projection)
    for definition in (REGISTRY, HEALTH, HOUSING, EDUCATION)
]

#: The live consumers: the projections, and every event read republished to the public
#: feed (gateway.public_feed).
CONSUMERS = [
    dataclasses.replace(definition, on_received=publish_public) for definition in PROJECTIONS
]
