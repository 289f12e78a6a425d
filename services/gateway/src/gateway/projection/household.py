"""One household's row, changed by an event handler: load it locked, let the handler edit a
plain dict, write what changed and move the region counters by the difference."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.status import OWNER, Dimension, DimensionFact
from gateway.models import household_table
from gateway.projection.statistics import household_contribution, move_between
from gateway.status.dimensions import initial_dimensions
from kit.envelope import Envelope

_COLUMNS = [c.name for c in household_table.columns if c.name != "updated_at"]


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


@contextlib.asynccontextmanager
async def changing(
    session: AsyncSession, household_id: uuid.UUID, region_code: str
) -> AsyncIterator[dict[str, Any]]:
    """Yield the household's row as a dict to edit; on exit store it and its statistics."""
    locked = (
        select(*[household_table.c[name] for name in _COLUMNS])
        .where(household_table.c.household_id == household_id)
        .with_for_update()
    )
    found = (await session.execute(locked)).mappings().first()
    if found is None:
        # First event of this household. Another consumer (a department's) may be creating
        # the row at this moment: insert-if-absent, then lock whichever row won.
        await session.execute(
            insert(household_table)
            .values(**new_row(household_id, region_code))
            .on_conflict_do_nothing(index_elements=["household_id"])
        )
        found = (await session.execute(locked)).mappings().one()
    before = dict(found)
    row = copy.deepcopy(before)
    yield row
    if row == before:
        return
    changed = {name: value for name, value in row.items() if before[name] != value}
    await session.execute(
        update(household_table)
        .where(household_table.c.household_id == household_id)
        .values(**changed)
    )
    await move_between(
        session,
        (before["region_code"], household_contribution(before)),
        (row["region_code"], household_contribution(row)),
    )


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
