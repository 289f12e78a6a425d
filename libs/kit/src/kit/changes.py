"""The one write path of an aggregate (ARCHITECTURE §2.2, §6.4).

Every change of an aggregate (a household, a claim, a contract, ...) is recorded by one
call, :meth:`Changes.record`, in the caller's transaction: it bumps the aggregate's
``version``, stages its event in the outbox with ``sequence`` = version, and writes the
audit entry (before and after). Nothing is committed: the caller's boundary
(:func:`kit.db.atomic`, the request's session, a consumer's batch) commits state, event and
history together.

The same call records a change that publishes no event (``event=None``: an audit entry
only, the version unchanged) and one that is not audited (``audited=False``: the event
only). Bulk writers that COPY rows build them with :meth:`Changes.event_row` and
:meth:`Changes.audit_row`, which :meth:`record` uses too.

What the call reads of an aggregate: ``id`` (the event's subject and the audit's
``entity_id``), ``region_code`` and ``version``. The audit's ``entity`` is the class name in
snake case (``DoctorContract`` → ``doctor_contract``). An aggregate without a ``version``
(a record never changed after it is written) has one event, with ``sequence`` 1.

A service says once, for each kind of aggregate, how the audit log views it and how its
events carry it, :meth:`Changes.of`, and then records a change in one statement::

    contract_changes = changes.of(view=_audit_view, data=_event)

    await contract_changes.created(session, contract, CONTRACT_SIGNED, actor=actor)
    async with contract_changes.change(session, contract, CONTRACT_ENDED, actor=actor):
        contract.status = ENDED

``change`` takes the view before the block and records the change after it, with the data
and the view of the aggregate as the block left it; a block that raises records nothing
(its transaction is rolled back anyway). Both are :meth:`Changes.record` underneath.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.catalogue import EventSpec
from kit.audit import AuditLog
from kit.auth import Principal
from kit.outbox import Outbox

_WORD_START = re.compile(r"(?<!^)(?=[A-Z])")

Aggregate = TypeVar("Aggregate")
#: How the audit log shows an aggregate (its ``before`` and ``after``).
View = Callable[[Any], dict[str, Any]]
#: How an event carries an aggregate (built after the change).
Data = Callable[[Any], BaseModel]


@dataclass
class AggregateRef:
    """An aggregate named without its object: for writers that hold plain values rather
    than a loaded row (a COPY of imported households, a batch of regions, an upserted
    row)."""

    entity: str
    id: Any
    region_code: str
    version: int


def entity_name(aggregate: object) -> str:
    """The audit log's name of an aggregate's kind: its class name in snake case."""
    if isinstance(aggregate, AggregateRef):
        return aggregate.entity
    return _WORD_START.sub("_", type(aggregate).__name__).lower()


class Changes:
    """Records changes of one service's aggregates into its outbox and audit log.

    ``short_actions``: audit actions are the event names without the service's prefix
    (``household.created`` rather than ``registry.household.created``), as the registry's
    history has always named them."""

    def __init__(self, outbox: Outbox, audit: AuditLog, *, short_actions: bool = False) -> None:
        self.outbox = outbox
        self.audit = audit
        self.short_actions = short_actions

    def of(self, *, view: View, data: Data | None = None) -> AggregateChanges:
        """The changes of one kind of aggregate: ``view`` is how the audit log shows it,
        ``data`` how its events carry it (a call may name another, for an event that
        carries it otherwise)."""
        return AggregateChanges(self, view=view, data=data)

    async def record(
        self,
        session: AsyncSession,
        aggregate: Any,
        event: EventSpec | None = None,
        data: BaseModel | None = None,
        *,
        actor: Principal | str | None = None,
        new: bool = False,
        audited: bool = True,
        action: str | None = None,
        before: BaseModel | dict[str, Any] | None = None,
        after: BaseModel | dict[str, Any] | None = None,
    ) -> None:
        """Record one change of ``aggregate`` in the caller's transaction.

        ``event`` and ``data``: the event to publish; its ``sequence`` is the aggregate's
        new version (1 if ``new``, the aggregate's first event; else one more than it was).
        Without an event the change is only audited and the version stays.
        ``audited=False``: the event only (another entry already tells the change).
        ``action`` defaults to the event's name; ``before``/``after`` are the audit's."""
        if event is None and not audited:
            raise ValueError("a change publishes an event, is audited, or both")
        if event is not None:
            self.bump(aggregate, new=new)
            await self.outbox.stage(session, self.event_row(aggregate, event, data))
        if audited:
            if actor is None:
                raise ValueError("an audited change names its actor")
            row = self.audit_row(
                aggregate, actor=actor, event=event, action=action, before=before, after=after
            )
            await self.audit.stage(session, row)

    @staticmethod
    def bump(aggregate: Any, *, new: bool = False) -> int:
        """Advance the aggregate to the version of its next event and return it: 1 for a new
        aggregate, else one more. For bulk writers; :meth:`record` calls it."""
        if not hasattr(aggregate, "version"):
            if not new:
                raise ValueError(f"{type(aggregate).__name__} has no version: only a new one")
            return 1
        aggregate.version = 1 if new else aggregate.version + 1
        return aggregate.version

    def event_row(self, aggregate: Any, event: EventSpec, data: BaseModel | None) -> dict[str, Any]:
        """The outbox row of the aggregate's event at its current version."""
        if data is None:
            raise ValueError(f"{event.name} needs its data")
        return self.outbox.row(
            event,
            aggregate_id=aggregate.id,
            region=aggregate.region_code,
            sequence=getattr(aggregate, "version", 1),
            data=data,
        )

    def audit_row(
        self,
        aggregate: Any,
        *,
        actor: Principal | str,
        event: EventSpec | None = None,
        action: str | None = None,
        before: BaseModel | dict[str, Any] | None = None,
        after: BaseModel | dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The audit row of a change of the aggregate (``action`` defaults to the event's)."""
        if action is None:
            if event is None:
                raise ValueError("a change without an event names its action")
            action = event.name
            if self.short_actions:
                action = action.removeprefix(f"{self.outbox.service}.")
        return self.audit.row(
            actor=actor,
            action=action,
            entity=entity_name(aggregate),
            entity_id=aggregate.id,
            region_code=aggregate.region_code,
            before=before,
            after=after,
        )


class AggregateChanges(Generic[Aggregate]):
    """Records changes of one kind of aggregate: its audit view and its events' data are
    said once (:meth:`Changes.of`), each change in one statement."""

    def __init__(self, changes: Changes, *, view: View, data: Data | None) -> None:
        self.changes = changes
        self.view = view
        self.data = data

    async def created(
        self,
        session: AsyncSession,
        aggregate: Aggregate,
        event: EventSpec,
        *,
        actor: Principal | str,
        data: Data | None = None,
        action: str | None = None,
        after: BaseModel | dict[str, Any] | None = None,
    ) -> None:
        """Record a new aggregate: its first event, and an audit entry with no ``before``
        and its view after (or ``after``, where the entry shows what was asked)."""
        await self._record(
            session,
            aggregate,
            event,
            data,
            actor=actor,
            new=True,
            action=action,
            after=self.view(aggregate) if after is None else after,
        )

    @asynccontextmanager
    async def change(
        self,
        session: AsyncSession,
        aggregate: Aggregate,
        event: EventSpec,
        *,
        actor: Principal | str,
        data: Data | None = None,
        also: dict[str, Any] | None = None,
        if_changed: bool = False,
    ) -> AsyncIterator[None]:
        """Record the change the block makes: the view before it and after it, and the
        event with the data of the aggregate as the block leaves it. Nothing is recorded if
        the block raises, nor, with ``if_changed``, if the view stays the same (a
        recomputation that changed nothing). ``also``: more for the audit's ``after`` that
        the view does not show (a transition's note)."""
        before = self.view(aggregate)
        yield
        after = self.view(aggregate)
        if if_changed and after == before:
            return
        if also:
            after = {**after, **also}
        await self._record(session, aggregate, event, data, actor=actor, before=before, after=after)

    async def _record(
        self,
        session: AsyncSession,
        aggregate: Aggregate,
        event: EventSpec,
        data: Data | None,
        **audit: Any,
    ) -> None:
        """:meth:`Changes.record`, with the event's data built from the aggregate as it is."""
        build = data or self.data
        if build is None:
            raise ValueError(f"{event.name} needs its data: name how the event carries it")
        await self.changes.record(session, aggregate, event, build(aggregate), **audit)
