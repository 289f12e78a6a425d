"""Department records that count in the region KPIs (a health enrolment or claim, an
education household or grant): the last state their events gave each, in a table of its
department (``gateway.models``).

The consumer's ``prepare`` hook loads every record a batch's events name at once; a
handler sets the record's new state; the ``at_transaction_end`` hook writes the records
that changed and moves the region counters by the difference each made (its department's
contribution after, minus before). The mechanism is :class:`kit.rows.TransactionRows`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.catalogue import EventSpec
from gateway.projection.statistics import Counts, move_between
from kit.envelope import Envelope
from kit.rows import TransactionRows


class KpiRecords:
    """The records of ``table`` (key ``record_id``): ``named_by`` says which payload field
    of each event names its record; ``defaults`` are the values a record's new state
    starts from (what an event does not say counts as nothing)."""

    def __init__(
        self,
        table: Table,
        contribution: Callable[[Mapping[str, Any] | None], Counts],
        named_by: Mapping[EventSpec, str],
        defaults: Mapping[str, Any],
    ) -> None:
        self.rows = TransactionRows(table, "record_id")
        self.contribution = contribution
        self.named_by = {spec.type: name for spec, name in named_by.items()}
        self.defaults = dict(defaults)

    async def prepare(self, session: AsyncSession, events: list[Envelope]) -> None:
        """Load at once every record the events name."""
        ids = set()
        for event in events:
            name = self.named_by.get(event.type)
            if name is not None:
                with contextlib.suppress(TypeError, ValueError):  # the handler will say
                    ids.add(uuid.UUID(event.data.get(name)))
        await self.rows.load(session, ids)

    async def record(self, session: AsyncSession, record_id: uuid.UUID, **values: Any) -> None:
        """The record's new state: written at the end of the transaction (:meth:`write`)."""
        row = await self.rows.edit(session, record_id, new=lambda: {"record_id": record_id})
        row.update({**self.defaults, **values})

    async def write(self, session: AsyncSession) -> None:
        """Write the transaction's changed records; move the counters by what each changed."""
        for change in await self.rows.write(session):
            stored = change.stored
            await move_between(
                session,
                None if stored is None else (stored["region_code"], self.contribution(stored)),
                (change.row["region_code"], self.contribution(change.row)),
            )
