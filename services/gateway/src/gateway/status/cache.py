"""Rendered status documents kept in the process's memory, so that reading one household's
status is a dictionary lookup rather than a query, a render and a serialisation.

A copy must never outlive the row it was rendered from. Whichever gateway process applies
an event, the table's trigger notifies every process at commit (``LISTEN
household_status_changed``, migration 0003), and each drops its copy. Three races are
closed here rather than hoped away:

- a read that loads a row while an event changes it must not store the old copy after the
  notification went by: each fill remembers the notification count when it started, and a
  household notified since then is not stored;
- a lost listening connection may have missed notifications: everything is dropped and
  nothing is stored until the process listens again;
- a document that depends on the date (visits in the last 30 days) holds only until the
  day it would read differently (``holds_until``).

The cache is warmed in the background when the process starts listening, so that the first
requests after a deployment do not all take the long way, and again whenever the projection
settles after changing many households the cache does not hold: a consumer that caught up
with a backlog (a process started before its projection was complete), a rebuild (its
TRUNCATE, then every row again). The signal is the notifications themselves: they come from
whichever process wrote the rows (a replica's consumer, a rebuild's own process), which no
one process's consumer could tell. A change to a household held only drops it (the next read
renders it), so live traffic does not set off re-warms.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, NamedTuple

import asyncpg
from fastapi import FastAPI
from prometheus_client import Counter as MetricCounter
from prometheus_client import Gauge
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.models import HouseholdStatus, household_table
from gateway.status.document import (
    assigned_helpers,
    holds_until,
    name_span,
    status_bytes,
    status_document,
)
from kit.db import asyncpg_dsn

log = logging.getLogger(__name__)

CHANNEL = "household_status_changed"
EVERY_HOUSEHOLD = "*"  # the payload of a TRUNCATE (a rebuild)
WARM_BATCH = 100  # rows rendered between two yields to the event loop (≈ 20 ms)
LIVENESS_SECONDS = 5.0  # how often the listening connection proves it is alive
#: Households changed while not held that make the projection worth warming from again…
REWARM_AFTER = WARM_BATCH
#: … once no notification has come for this long (the burst of changes is over).
SETTLED_SECONDS = 1.0

CACHED_DOCUMENTS = Gauge(
    "jingzhun_gateway_status_cache_documents", "Status documents held in this process"
)
CACHE_LOOKUPS = MetricCounter(
    "jingzhun_gateway_status_cache_lookups_total",
    "Status reads answered from memory (hit) or by the full endpoint (miss; fresh mode "
    "not counted)",
    ["outcome"],
)
HITS, MISSES = CACHE_LOOKUPS.labels("hit"), CACHE_LOOKUPS.labels("miss")


class CachedStatus(NamedTuple):
    region_code: str
    #: Rendered with names; a caller without ``pii:read`` gets it with the span below
    #: replaced by null (one copy, instead of a second rendering kept for every household).
    body: bytes
    rendered_on: dt.date
    #: First day it no longer holds (None: until the household's next event).
    expires_on: dt.date | None
    name_start: int
    name_end: int
    #: The household's helpers: the only helper tokens that may read it.
    helper_ids: tuple[str, ...]


def holds_on(entry: tuple, today: dt.date) -> bool:
    rendered_on, expires_on = entry[2], entry[3]
    return rendered_on <= today and (expires_on is None or today < expires_on)


def cached_status(row: Any, today: dt.date) -> CachedStatus:
    """A projection row rendered for ``today``, as the cache keeps it."""
    body = status_bytes(status_document(row, today, names=True))
    name_start, name_end = name_span(body, row["head_name"])
    return CachedStatus(
        region_code=row["region_code"],
        body=body,
        rendered_on=today,
        expires_on=holds_until(row, today),
        name_start=name_start,
        name_end=name_end,
        helper_ids=assigned_helpers(row),
    )


Store = Callable[[str, CachedStatus], None]


class StatusCache:
    """Household id (text) → its rendered status, least recently read dropped first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.listening = False
        self.last_notification: str | None = None
        self._entries: OrderedDict[str, tuple] = OrderedDict()
        self._notifications = 0
        self._flushed_at = 0  # notification count at the last drop of everything
        #: While fills run: household → count at its last notification.
        self._changed_at: dict[str, int] = {}
        self._fills: Counter[int] = Counter()  # notification count at each running fill's start
        #: Households changed since the last warm began that were not held (None: every
        #: household, after a truncate or more than the cache holds), and when the last
        #: notification came.
        self._unheld: set[str] | None = set()
        self._notified_at = 0.0
        #: What the re-warm :meth:`should_rewarm` called for renders (None: every household).
        self.rewarm_only: frozenset[str] | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, household_id: str) -> bool:
        return household_id in self._entries

    def get(self, household_id: str, today: dt.date) -> tuple | None:
        """The household's ``CachedStatus`` fields, if held and still true ``today``."""
        entry = self._entries.get(household_id)
        if entry is None or not holds_on(entry, today):
            return None
        self._entries.move_to_end(household_id)
        return entry

    @contextlib.contextmanager
    def filling(self) -> Iterator[Store]:
        """Wrap the read of rows to cache; the store it yields keeps only what no
        notification has overtaken since the read began."""
        started = self._notifications
        self._fills[started] += 1

        def store(household_id: str, entry: CachedStatus) -> None:
            overtaken = (
                self._flushed_at > started or self._changed_at.get(household_id, -1) > started
            )
            if self.listening and self.capacity and not overtaken:
                # Kept as a plain tuple of strings, bytes and dates, which the garbage
                # collector stops tracking: otherwise each full collection walks every
                # household held (30 to 60 ms at 100,000, a request's p99 many times over).
                self._entries[household_id] = tuple(entry)
                self._entries.move_to_end(household_id)
                while len(self._entries) > self.capacity:
                    self._entries.popitem(last=False)
                CACHED_DOCUMENTS.set(len(self._entries))

        try:
            yield store
        finally:
            self._fills[started] -= 1
            if not self._fills[started]:
                del self._fills[started]
            self._forget_changes()

    def changed(self, household_id: str) -> None:
        """A household's row changed (or, with ``*``, every row)."""
        self._notifications += 1
        self._notified_at = time.monotonic()
        if household_id == EVERY_HOUSEHOLD:
            self.drop_all()
            self._unheld = None
            return
        if self._entries.pop(household_id, None) is None and self._unheld is not None:
            self._unheld.add(household_id)
            if len(self._unheld) > self.capacity:
                self._unheld = None
        if self._fills:
            self._changed_at[household_id] = self._notifications
        CACHED_DOCUMENTS.set(len(self._entries))

    def drop_all(self) -> None:
        self._notifications += 1
        self._flushed_at = self._notifications
        self._entries.clear()
        self._changed_at.clear()
        CACHED_DOCUMENTS.set(0)

    def should_rewarm(self) -> bool:
        """Whether many households the cache lacks changed and the changes have settled
        (a backlog drained or paused between batches, a rebuild finished); if so, which
        to render is left in :attr:`rewarm_only` (those households; None: all), and
        counting starts again. A backlog drained in batches is so warmed a batch at a
        time, each household once, never the whole table again."""
        settled = time.monotonic() - self._notified_at >= SETTLED_SECONDS
        many = self._unheld is None or len(self._unheld) >= REWARM_AFTER
        if not self.capacity or not many or not settled:
            return False
        self.rewarm_only = None if self._unheld is None else frozenset(self._unheld)
        self._unheld = set()
        return True

    def _forget_changes(self) -> None:
        """Keep only notifications a running fill could still be overtaken by."""
        if not self._fills:
            self._changed_at.clear()
        elif len(self._changed_at) > 1_000:
            oldest = min(self._fills)
            self._changed_at = {k: n for k, n in self._changed_at.items() if n > oldest}

    # --- keeping it current ----------------------------------------------------------

    async def listen(
        self, dsn: str, warm: Callable[[frozenset[str] | None], Any] | None = None
    ) -> None:
        """Listen for changed households until cancelled, reconnecting after a loss; after
        each (re)connection ``warm(None)`` fills the cache, and whenever
        :meth:`should_rewarm`, ``warm(households)`` renders those (one warm at a time)."""
        delay = 0.5
        while True:
            connection: asyncpg.Connection | None = None
            warming: asyncio.Task[Any] | None = None
            try:
                connection = await asyncpg.connect(
                    dsn, server_settings={"application_name": "gateway-status-cache"}
                )
                await connection.add_listener(CHANNEL, self._notified)
                self.drop_all()  # whatever was missed before this point
                self.listening = True
                delay = 0.5
                self._unheld = set()
                if warm is not None:
                    warming = asyncio.create_task(warm(None), name="status-cache-warm")
                proved_alive_at = time.monotonic()
                while True:
                    await asyncio.sleep(SETTLED_SECONDS)
                    idle = warming is None or warming.done()
                    if warm is not None and idle and self.should_rewarm():
                        warming = asyncio.create_task(
                            warm(self.rewarm_only), name="status-cache-warm"
                        )
                    # A silent network loss only shows when the connection is used.
                    if time.monotonic() - proved_alive_at >= LIVENESS_SECONDS:
                        await asyncio.wait_for(connection.fetchval("SELECT 1"), LIVENESS_SECONDS)
                        proved_alive_at = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - the database away: try again
                log.warning("status cache stopped listening (%s); retrying", exc)
            finally:
                self.listening = False
                self.drop_all()
                if warming is not None:
                    warming.cancel()
                    await asyncio.gather(warming, return_exceptions=True)
                if connection is not None and not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _notified(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self.last_notification = payload
        self.changed(payload)


async def warm(
    cache: StatusCache,
    sessions: async_sessionmaker[AsyncSession],
    today: Callable[[], dt.date],
    only: frozenset[str] | None = None,
) -> None:
    """Render shown households the cache does not hold yet into it (``only`` those, if
    given), up to its capacity, a batch at a time."""
    after = uuid.UUID(int=0)
    wanted = sorted(only) if only is not None else None
    held_before = len(cache)
    while cache.capacity and len(cache) < cache.capacity:
        statement = select(household_table).where(HouseholdStatus.registry_event_id.is_not(None))
        if wanted is not None:
            chunk, wanted = wanted[:WARM_BATCH], wanted[WARM_BATCH:]
            statement = statement.where(household_table.c.household_id.in_(chunk))
        else:
            statement = (
                statement.where(household_table.c.household_id > after)
                .order_by(household_table.c.household_id)
                .limit(WARM_BATCH)
            )
        with cache.filling() as store:
            async with sessions() as session:
                rows = (await session.execute(statement)).mappings().all()
            day = today()
            for row in rows:
                household_id = str(row["household_id"])
                if household_id not in cache:
                    store(household_id, cached_status(row, day))
        if (not wanted) if wanted is not None else len(rows) < WARM_BATCH:
            break
        if rows:
            after = rows[-1]["household_id"]
    if len(cache) > held_before:
        # What the process holds from now on lives as long as it: out of the collector's
        # sight (as at start-up, kit.app), a full collection walks only what requests
        # allocate.
        gc.collect()
        gc.freeze()
    log.info("status cache warm: %d households", len(cache))


def status_cache(cache: StatusCache) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager]:
    """The app resource that keeps ``cache`` listening (and warm) while the app runs."""

    @contextlib.asynccontextmanager
    async def running(app: FastAPI) -> AsyncIterator[None]:
        runtime = app.state.runtime
        app.state.status_cache = cache
        listener = asyncio.create_task(
            cache.listen(
                asyncpg_dsn(runtime.settings.database_url),
                lambda only: warm(cache, runtime.read_sessionmaker, app.state.clock.today, only),
            ),
            name="status-cache-listen",
        )
        try:
            yield
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    return running
