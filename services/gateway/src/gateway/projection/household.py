"""Households' rows, changed by event handlers a transaction at a time.

The consumer's ``prepare`` hook loads and locks every household a batch of events names,
in one query (:func:`prepare_households`); handlers edit plain dicts of them in memory
(:func:`changing`); the ``at_transaction_end`` hook writes the rows that changed, and
moves the region counters by the difference between each row as it was stored and as it
is now (:func:`write_households`). The mechanism is :class:`kit.rows.TransactionRows`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.status import OWNER, Dimension, DimensionFact
from gateway.models import household_table
from gateway.projection.statistics import Counts, household_contribution, move_counters
from gateway.status.dimensions import initial_dimensions
from kit.envelope import Envelope
from kit.rows import TransactionRows

HOUSEHOLDS = TransactionRows(household_table, "household_id")


def new_row(household_id: uuid.UUID, region_code: str) -> dict[str, Any]:
    """A household seen for the first time: no basics yet, every dimension unknown."""
    return {
        "household_id": household_id,
        "region_code": region_code,
        "head_name": None,
        "member_count": 0,
        "poverty_state": None,
        "assistance_type": None,
        "monitoring_category": None,
        "primary_cause": None,
        "causes": [],
        "policy_continuity_until": None,
        "dimensions": initial_dimensions(),
        "risk_alerts": {},
        "helpers": {},
        "visit_dates": [],
        "registry_event_id": None,
        "registry_event_at": None,
    }


async def prepare_households(session: AsyncSession, events: list[Envelope]) -> None:
    """The consumer's ``prepare``: every household the events name (``household_id`` in
    their data, or in the household a member event carries), loaded at once."""
    ids = set()
    for event in events:
        data = event.data.get("household")
        data = data if isinstance(data, dict) else event.data
        with contextlib.suppress(TypeError, ValueError):  # the handler will say what is wrong
            ids.add(uuid.UUID(data.get("household_id")))
    await HOUSEHOLDS.load(session, ids)


@contextlib.asynccontextmanager
async def changing(
    session: AsyncSession, household_id: uuid.UUID, region_code: str
) -> AsyncIterator[dict[str, Any]]:
    """Yield the household's row as a dict to edit, a new one if it has none yet; what the
    handler leaves in it is written at the end of the transaction."""
    yield await HOUSEHOLDS.edit(
        session, household_id, new=lambda: new_row(household_id, region_code)
    )


async def write_households(session: AsyncSession) -> None:
    """Write the transaction's changed households and move their regions' counters by what
    each change made (summed by village first: a village's regions are moved once, not
    once per household)."""
    moved: dict[str, Counts] = defaultdict(Counter)
    for change in await HOUSEHOLDS.write(session):
        if change.stored is not None:
            moved[change.stored["region_code"]].subtract(household_contribution(change.stored))
        moved[change.row["region_code"]].update(household_contribution(change.row))
    for region_code, delta in moved.items():
        await move_counters(session, region_code, {k: v for k, v in delta.items() if v})


def set_dimension(
    row: dict[str, Any], dimension: Dimension | str, fact: DimensionFact, event: Envelope
) -> bool:
    """Record the owner's fact unless the row already holds a newer one (facts of one
    dimension may come from several records, e.g. two appraisals of a house)."""
    name = Dimension(dimension)
    current = row["dimensions"].get(name.value) or {}
    as_of = _aware(fact.as_of or event.time)
    known = current.get("as_of")
    if known is not None and _aware(dt.datetime.fromisoformat(known)) > as_of:
        return False
    row["dimensions"][name.value] = {
        "status": fact.status.value,
        "reason": fact.reason,
        "detail": fact.detail,
        "source": OWNER[name],
        "event_id": event.id,
        "as_of": as_of.isoformat(),
    }
    return True


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
