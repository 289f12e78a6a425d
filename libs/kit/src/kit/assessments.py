"""A household's assessment (a dimension a service decides for the whole household, with
what it rests on), stored and published only when it changes.

A service works its assessments out set-wise for a batch of households (a change, a
consumer's batch of hundreds) and hands them to :meth:`Assessments.publish_changed`, in
the caller's transaction: the stored ones are read and locked in one query; a household
whose assessment is unchanged publishes nothing; a changed one publishes its event through
the one write path (:meth:`kit.changes.Changes.record`, not audited: it is derived from the
records whose changes are) at the assessment's next version; and every changed one is
upserted in one statement (two first assessments at once must not collide, so the write
path is given the row by reference, :class:`kit.changes.AggregateRef`).

The table: ``household_id`` (primary key), ``region_code``, ``version``, ``assessed_at``,
and the columns of the assessment's state."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.catalogue import EventSpec
from kit.changes import AggregateRef, Changes
from kit.db import among


@dataclass(frozen=True)
class Assessment:
    """One household's assessment: its region, the state stored (and compared with the
    stored one), the event that publishes it, and when it was made."""

    region_code: str
    state: dict[str, Any]
    event: BaseModel
    at: dt.datetime


class Assessments:
    """The assessments of ``table``: the aggregate ``entity`` published as ``event``."""

    def __init__(self, table: Table, entity: str, event: EventSpec, changes: Changes) -> None:
        self.table = table
        self.entity = entity
        self.event = event
        self.changes = changes

    async def publish_changed(
        self, session: AsyncSession, assessed: Mapping[uuid.UUID, Assessment]
    ) -> None:
        """Store and publish each household's assessment that differs from the stored one,
        in the order of their ids."""
        ids = sorted(assessed)
        if not ids:
            return
        table = self.table
        stored = {
            row.household_id: row
            for row in await session.execute(
                select(table)
                .where(among(table.c.household_id, ids))
                .order_by(table.c.household_id)
                .with_for_update()
            )
        }
        changed = []
        for household_id in ids:
            assessment = assessed[household_id]
            state = {"region_code": assessment.region_code, **assessment.state}
            before = stored.get(household_id)
            if before is not None and all(getattr(before, k) == v for k, v in state.items()):
                continue
            aggregate = AggregateRef(
                self.entity,
                household_id,
                assessment.region_code,
                before.version if before else 0,
            )
            await self.changes.record(
                session,
                aggregate,
                self.event,
                assessment.event,
                new=before is None,
                audited=False,
            )
            changed.append(
                dict(
                    household_id=household_id,
                    **state,
                    version=aggregate.version,
                    assessed_at=assessment.at,
                )
            )
        if changed:
            statement = insert(table).values(changed)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["household_id"],
                    set_={name: statement.excluded[name] for name in changed[0]},
                )
            )
