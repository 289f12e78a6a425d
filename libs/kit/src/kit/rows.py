"""Rows a consumer's transaction loads once, edits in memory and writes once.

A projection's handlers each change a row or two (a household's status, a health record).
Done one event at a time that is a locked read and a write per event; for a batch of a
thousand events it is two thousand statements. :class:`TransactionRows` makes it a few:

- ``load`` (from the consumer's ``prepare`` hook) reads and locks every row the batch's
  events name, in key order (two transactions never lock crosswise), one query;
- ``edit`` gives a handler the row as a plain dict (a new one if it has none yet), loading
  it alone only if ``prepare`` did not;
- ``write`` (from ``at_transaction_end``) inserts the new rows with one statement and
  updates the changed ones with another, and returns what changed, for the caller's
  derived work (region counters moved by the difference).

The rows live in ``session.info`` for the transaction and are gone after ``write``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

Row = dict[str, Any]


class ConcurrentlyCreated(RuntimeError):
    """Another transaction created a row this one was creating: the batch is applied again
    (the consumer's careful path, one event at a time), which then finds the row."""


@dataclass
class _Edit:
    stored: Row | None  # None: no row yet
    row: Row | None = None  # None: not edited


@dataclass(frozen=True)
class Change:
    """A row as it was stored (None: created) and as the transaction leaves it."""

    stored: Row | None
    row: Row


class TransactionRows:
    """The rows of ``table`` (primary key ``key``) a transaction changes."""

    def __init__(self, table: Table, key: str) -> None:
        self.table = table
        self.key = key
        self._info_key = f"kit.rows.{table.name}"
        key_column = table.c[key]
        self.columns = [c.name for c in table.columns if c.name != "updated_at"]
        self._lock = (
            select(*[table.c[name] for name in self.columns])
            .where(key_column == any_(bindparam("keys", type_=ARRAY(key_column.type))))
            .order_by(key_column)
            .with_for_update()
        )
        names = ", ".join(self.columns)
        rows = f"jsonb_populate_recordset(NULL::{table.name}, CAST(:rows AS jsonb))"
        # Only the inserted keys are returned: fewer than sent means a race was lost.
        self._insert = text(
            f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {rows} "
            f"ON CONFLICT ({key}) DO NOTHING RETURNING {key}"
        )
        touched = ", updated_at = now()" if "updated_at" in table.c else ""
        self._update = text(
            f"UPDATE {table.name} AS stored SET "
            + ", ".join(f"{name} = changed.{name}" for name in self.columns if name != key)
            + f"{touched} FROM {rows} AS changed WHERE stored.{key} = changed.{key}"
        )

    def _edits(self, session: AsyncSession) -> dict[Hashable, _Edit]:
        return session.info.setdefault(self._info_key, {})

    async def load(self, session: AsyncSession, keys: Iterable[Hashable]) -> None:
        """Read and lock the stored rows of ``keys`` not loaded yet in this transaction."""
        edits = self._edits(session)
        wanted = sorted({k for k in keys if k not in edits})
        if not wanted:
            return
        found = await session.execute(self._lock, {"keys": wanted})
        for stored in found.mappings():
            edits[stored[self.key]] = _Edit(stored=dict(stored))
        for key in wanted:
            edits.setdefault(key, _Edit(stored=None))

    async def edit(self, session: AsyncSession, key: Hashable, new: Callable[[], Row]) -> Row:
        """The row to edit in place (``new()`` if there is none yet); written by :meth:`write`."""
        edit = self._edits(session).get(key)
        if edit is None:  # not named in a way ``prepare`` understood: loaded alone
            await self.load(session, [key])
            edit = self._edits(session)[key]
        if edit.row is None:
            edit.row = _copy(edit.stored) if edit.stored is not None else new()
        return edit.row

    async def write(self, session: AsyncSession) -> list[Change]:
        """Insert the new rows and update the changed ones (a statement each); the changes."""
        edits = session.info.pop(self._info_key, {})
        changes = [
            Change(e.stored, e.row)
            for e in edits.values()
            if e.row is not None and e.row != e.stored
        ]
        created = [c.row for c in changes if c.stored is None]
        changed = [c.row for c in changes if c.stored is not None]
        if created:
            inserted = (await session.execute(self._insert, {"rows": _json(created)})).all()
            if len(inserted) != len(created):
                raise ConcurrentlyCreated(f"a {self.table.name} row was created meanwhile")
        if changed:
            await session.execute(self._update, {"rows": _json(changed)})
        return changes


def _copy(row: Row) -> Row:
    """A copy to edit: nested dicts and lists copied, scalar values shared (cheaper than
    ``copy.deepcopy``, which handlers' plain JSON values do not need)."""
    return {name: _copy_value(value) for name, value in row.items()}


def _copy_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_value(v) for v in value]
    return value


def _json(rows: list[Row]) -> str:
    return json.dumps(rows, ensure_ascii=False, default=_json_value)


def _json_value(value: Any) -> str:
    """Values JSON lacks, as PostgreSQL reads them back: ISO dates, uuids and decimals."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)
