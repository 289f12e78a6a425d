"""Households' rows, changed by event handlers a transaction at a time.

The consumer's ``prepare`` hook loads and locks every household a batch of events names,
in one query (:func:`load_households`); handlers edit plain dicts of them in memory
(:func:`changing`); the ``at_transaction_end`` hook writes the rows that changed, one
statement for the new and one for the others, and moves the region counters by the
difference between each row as it was stored and as it is now (:func:`write_households`).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.status import OWNER, Dimension, DimensionFact
from gateway.models import household_table
from gateway.projection.statistics import Counts, household_contribution, move_counters
from gateway.status.dimensions import initial_dimensions
from kit.envelope import Envelope

_COLUMNS = [c.name for c in household_table.columns if c.name != "updated_at"]
_LOCK = (
    select(*[household_table.c[name] for name in _COLUMNS])
    .where(household_table.c.household_id == any_(bindparam("ids", type_=ARRAY(UUID))))
    .order_by(household_table.c.household_id)
    .with_for_update()
)
_ROWS = "jsonb_populate_recordset(NULL::household_status, CAST(:rows AS jsonb))"
_NAMES = ", ".join(_COLUMNS)
#: New households: inserted unless another consumer (a department's) created the row since
#: they were looked up (only the inserted are returned: then the batch is applied again).
_INSERT = text(
    f"INSERT INTO household_status ({_NAMES}) SELECT {_NAMES} FROM {_ROWS} "
    "ON CONFLICT (household_id) DO NOTHING RETURNING household_id"
)
_UPDATE = text(
    f"UPDATE household_status AS h SET ({_NAMES}, updated_at) = "
    f"({', '.join(f'changed.{name}' for name in _COLUMNS)}, now()) "
    f"FROM {_ROWS} AS changed WHERE h.household_id = changed.household_id"
)
#: session.info key of the transaction's households: {household_id: Edit}.
_EDITS = "household_edits"


@dataclass
class Edit:
    """One household in a transaction: as stored (None: not there yet), and as edited."""

    stored: dict[str, Any] | None
    row: dict[str, Any] | None = None


class ConcurrentlyCreated(RuntimeError):
    """Another consumer created a household this transaction was creating: the batch is
    applied again (one event at a time), which then finds the row."""


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


async def load_households(session: AsyncSession, ids: set[uuid.UUID]) -> None:
    """Load and lock the stored rows of ``ids`` (in id order: two consumers never lock
    crosswise) for this transaction's handlers, one query."""
    edits: dict[uuid.UUID, Edit] = session.info.setdefault(_EDITS, {})
    wanted = sorted(ids - edits.keys())
    if not wanted:
        return
    found = await session.execute(_LOCK, {"ids": wanted})
    for stored in found.mappings():
        edits[stored["household_id"]] = Edit(stored=dict(stored))
    for household_id in wanted:
        edits.setdefault(household_id, Edit(stored=None))


async def prepare_households(session: AsyncSession, events: list[Envelope]) -> None:
    """The consumer's ``prepare``: every household the events name (``household_id`` in
    their data, or in the household a member event carries), loaded at once."""
    ids = set()
    for event in events:
        data = event.data.get("household")
        data = data if isinstance(data, dict) else event.data
        with contextlib.suppress(TypeError, ValueError):  # the handler will say what is wrong
            ids.add(uuid.UUID(data.get("household_id")))
    await load_households(session, ids)


@contextlib.asynccontextmanager
async def changing(
    session: AsyncSession, household_id: uuid.UUID, region_code: str
) -> AsyncIterator[dict[str, Any]]:
    """Yield the household's row as a dict to edit, a new one if it has none yet; what the
    handler leaves in it is written at the end of the transaction."""
    edit: Edit | None = session.info.get(_EDITS, {}).get(household_id)
    if edit is None:  # not named in a way ``prepare`` understands: loaded alone
        await load_households(session, {household_id})
        edit = session.info[_EDITS][household_id]
    if edit.row is None:
        edit.row = (
            copy.deepcopy(edit.stored)
            if edit.stored is not None
            else new_row(household_id, region_code)
        )
    yield edit.row


async def write_households(session: AsyncSession) -> None:
    """Write the transaction's changed households (one statement for the new ones, one for
    the others) and move their regions' counters by what each change made."""
    edits: dict[uuid.UUID, Edit] = session.info.pop(_EDITS, {})
    created = [e.row for e in edits.values() if e.stored is None and e.row is not None]
    changed = [e for e in edits.values() if e.stored is not None and e.row not in (None, e.stored)]
    if created:
        inserted = (await session.execute(_INSERT, {"rows": _json(created)})).all()
        if len(inserted) != len(created):
            raise ConcurrentlyCreated("a household was created by another consumer meanwhile")
    if changed:
        await session.execute(_UPDATE, {"rows": _json([e.row for e in changed])})
    # Summed by village first: a village's regions are moved once, not once per household.
    moved: dict[str, Counts] = defaultdict(Counter)
    for edit in edits.values():
        if edit.row is None or edit.row == edit.stored:
            continue
        if edit.stored is not None:
            moved[edit.stored["region_code"]].subtract(household_contribution(edit.stored))
        moved[edit.row["region_code"]].update(household_contribution(edit.row))
    for region_code, delta in moved.items():
        await move_counters(session, region_code, {k: v for k, v in delta.items() if v})


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, ensure_ascii=False, default=_json_value)


def _json_value(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)  # uuids


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
