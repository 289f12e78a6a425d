"""Replaying events into a consumer: a whole rebuild, or only what was dead-lettered.

:func:`replay` rebuilds a consumer's projections from its source streams without ever
serving half of one (ARCHITECTURE §5). It builds a new copy beside the live one, in a
scratch schema (:data:`SCRATCH_SCHEMA`: each projection table, the inbox and the
aggregate positions, created ``LIKE`` the live ones), by applying every event still in the
streams with the *same* handlers, through the same idempotent path as live delivery
(:meth:`kit.consumer.EventConsumer.apply_batch`), a batch per transaction, on sessions whose
``search_path`` is that schema. Meanwhile readers get the live projection and the live
consumers keep applying to it. Once the copy has caught up with the streams, the rebuild
takes the exclusive side of :data:`kit.consumer.REBUILD_LOCK_KEY` (live consumers pause
between two transactions), applies what arrived since, and replaces the live rows with the
copy's in one transaction: ``DELETE`` then ``INSERT … SELECT``, so readers see the old rows
until the commit and the new ones after it, and the tables keep their triggers and grants.
The aggregate positions are switched in too, but the live inbox stays: an event the live
consumers have not read yet (they were behind, or waiting for the lock) is still new to
them, so they run what follows every event read (``on_received``: the gateway's public
feed) and find it stale rather than apply it twice. The scratch schema is dropped whether
the rebuild succeeds or fails; a failure leaves the live projection as it was.

:func:`replay_dead_letters` delivers again what a consumer dead-lettered (a handler that
failed ``max_deliver`` times, e.g. before the fix of its defect), through the same
:meth:`kit.consumer.EventConsumer.apply` as live delivery (inbox, sequence checks), one
transaction per event. A dead letter is removed once the consumer has it (applied or
ignored now, or already handled or superseded: a duplicate or a stale sequence); one that
still fails stays on the dead-letter stream for the next attempt. Running it again is
harmless: what was removed is not seen again, and the inbox refuses a second application.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from kit.bus import DEAD_LETTER_PREFIX, DEAD_LETTER_STREAM
from kit.consumer import REBUILD_LOCK_KEY, EventConsumer
from kit.db import create_sessionmaker
from kit.envelope import Envelope, parse

if TYPE_CHECKING:
    from nats.js import JetStreamContext

    from kit.app import ServiceDefinition

log = logging.getLogger(__name__)

#: progress(step, events done, events in the step), after each batch and at each step's
#: start and end. Awaited if it returns an awaitable (a test pauses the rebuild there).
Progress = Callable[[str, int, int], Awaitable[None] | None]
#: The steps of a rebuild, in order.
REPLAYING = "replaying the streams"
CATCHING_UP = "catching up"
FINAL_CATCH_UP = "catching up, live consumers paused"
SWITCHING = "switching to the rebuilt projection"

#: The consumers a rebuild replays, given the sessions to write with (the scratch schema's).
ConsumerFactory = Callable[[async_sessionmaker[AsyncSession]], list[EventConsumer]]

#: Runs in the switch's transaction, after the rows are in: what a service tells its
#: readers when its whole projection has changed at once (the gateway: its status caches).
AtSwitch = Callable[[AsyncConnection], Awaitable[None]]

#: Where a rebuild builds its copy of the projection (one rebuild at a time per database).
SCRATCH_SCHEMA = "projection_rebuild"
#: Session-level advisory lock held by a running rebuild: a second one refuses to start
#: rather than drop the first one's scratch schema.
RUNNING_LOCK_KEY = 0x4A5A5255  # "JZRU"
#: Catch-up passes without pausing the live consumers before the final, paused one; each
#: takes what arrived during the one before, so the pause covers seconds of events.
CATCH_UP_PASSES = 3
#: The consumers' bookkeeping in the copy: the inbox refuses a duplicate during the replay,
#: the positions a stale event. Only the positions are switched in (see the docstring).
BOOKKEEPING_TABLES = ("inbox", "aggregate_positions")
POSITIONS_TABLE = "aggregate_positions"


@dataclass
class ReplayReport:
    events: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    unreadable: int = 0
    failed: list[str] = field(default_factory=list)  # event ids whose handler raised


async def replay(
    engine: AsyncEngine,
    consumers: ConsumerFactory,
    projection_tables: list[Table],
    *,
    batch_size: int = 500,
    progress: Progress | None = None,
    at_switch: AtSwitch | None = None,
) -> ReplayReport:
    """Rebuild ``projection_tables`` (and the consumers' aggregate positions) from the
    consumers' streams in a scratch schema, then switch it in (see the module docstring)."""
    report = ReplayReport()
    tables = [table.name for table in projection_tables]
    # Session-level locks need no transaction; an idle open one would hold back the xmin
    # horizon for the whole replay, so no dead version of the rows it rewrites could be
    # pruned and each update would walk longer chains of them.
    async with engine.connect() as control:
        await control.execution_options(isolation_level="AUTOCOMMIT")
        running = await control.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": RUNNING_LOCK_KEY}
        )
        if not running:
            raise RuntimeError("another rebuild of this database is running")
        scratch = create_async_engine(
            engine.url,
            pool_size=2,
            connect_args={"server_settings": {"search_path": SCRATCH_SCHEMA}},
        )
        try:
            live_schema = await control.scalar(text("SELECT current_schema()"))
            await _create_scratch(control, live_schema, [*tables, *BOOKKEEPING_TABLES])
            replaying = consumers(create_sessionmaker(scratch))
            positions = [0] * len(replaying)  # the last stream sequence each has applied
            await _replay_streams(replaying, positions, REPLAYING, report, batch_size, progress)
            for _ in range(CATCH_UP_PASSES):
                caught_up = await _replay_streams(
                    replaying, positions, CATCHING_UP, report, batch_size, progress
                )
                if caught_up < batch_size:
                    break
            async with _live_consumers_paused(control):
                # Whatever they applied is in the streams now: once the copy has what
                # the streams hold, it has everything the live projection has.
                await _replay_streams(
                    replaying, positions, FINAL_CATCH_UP, report, batch_size, progress
                )
                await _report(progress, SWITCHING, 0, 1)
                durables = [consumer.subscription.durable for consumer in replaying]
                await _switch(engine, live_schema, tables, durables, at_switch)
                await _report(progress, SWITCHING, 1, 1)
        finally:
            await scratch.dispose()
            await control.execute(text(f"DROP SCHEMA IF EXISTS {SCRATCH_SCHEMA} CASCADE"))
            await control.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": RUNNING_LOCK_KEY}
            )
    return report


@contextlib.asynccontextmanager
async def _live_consumers_paused(control: AsyncConnection) -> AsyncIterator[None]:
    """Hold the exclusive side of REBUILD_LOCK_KEY: live consumers, which take the shared
    side for each transaction, wait between two transactions until it is released."""
    await control.execute(text("SELECT pg_advisory_lock(:key)"), {"key": REBUILD_LOCK_KEY})
    try:
        yield
    finally:
        await control.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": REBUILD_LOCK_KEY})


async def _create_scratch(control: AsyncConnection, live_schema: str, tables: list[str]) -> None:
    """An empty copy of each table (columns, defaults, constraints, indexes; no triggers:
    the copy notifies no one) in a fresh scratch schema. A schema left by a rebuild that
    was killed is dropped first."""
    quote = control.dialect.identifier_preparer.quote
    await control.execute(text(f"DROP SCHEMA IF EXISTS {SCRATCH_SCHEMA} CASCADE"))
    await control.execute(text(f"CREATE SCHEMA {SCRATCH_SCHEMA}"))
    for table in tables:
        await control.execute(
            text(
                f"CREATE TABLE {SCRATCH_SCHEMA}.{quote(table)} "
                f"(LIKE {quote(live_schema)}.{quote(table)} INCLUDING ALL)"
            )
        )


async def _switch(
    engine: AsyncEngine,
    live_schema: str,
    tables: list[str],
    durables: list[str],
    at_switch: AtSwitch | None,
) -> None:
    """Replace the live rows with the scratch schema's in one transaction. DELETE rather
    than TRUNCATE: TRUNCATE would lock readers out until the commit. The positions are
    replaced only for the consumers rebuilt (others may share the table)."""
    quote = engine.dialect.identifier_preparer.quote
    async with engine.begin() as conn:
        for table in [*tables, POSITIONS_TABLE]:
            live = f"{quote(live_schema)}.{quote(table)}"
            if table == POSITIONS_TABLE:
                await conn.execute(
                    text(f"DELETE FROM {live} WHERE consumer = ANY(:durables)"),
                    {"durables": durables},
                )
            else:
                await conn.execute(text(f"DELETE FROM {live}"))
            await conn.execute(
                text(f"INSERT INTO {live} SELECT * FROM {SCRATCH_SCHEMA}.{quote(table)}")
            )
        if at_switch is not None:
            await at_switch(conn)


async def _report(progress: Progress | None, step: str, done: int, total: int) -> None:
    if progress is None:
        return
    shown = progress(step, done, total)
    if inspect.isawaitable(shown):
        await shown


async def _replay_streams(
    consumers: list[EventConsumer],
    positions: list[int],
    step: str,
    report: ReplayReport,
    batch_size: int,
    progress: Progress | None,
) -> int:
    """Apply what each consumer's stream holds after ``positions`` (advanced in place);
    returns the number of messages read. ``step``'s total is the streams' messages past
    the positions (the filter may leave some out: the step ends at what it read)."""
    pending = [
        await _messages_after(consumer, after)
        for consumer, after in zip(consumers, positions, strict=True)
    ]
    total, done = sum(pending), 0
    await _report(progress, step, done, total)

    async def read(count: int) -> None:
        nonlocal done
        done += count
        await _report(progress, step, done, max(done, total))

    for index, consumer in enumerate(consumers):
        if pending[index]:
            positions[index] = await _replay_stream(
                consumer, positions[index], report, batch_size, read
            )
    await _report(progress, step, done, done)
    return done


async def _messages_after(consumer: EventConsumer, after: int) -> int:
    """How many messages the consumer's stream holds past stream sequence ``after``."""
    try:
        state = (await consumer.bus.js.stream_info(consumer.subscription.stream)).state
    except NotFoundError:
        return 0  # the producer has never published
    if state.messages == 0:
        return 0
    return max(0, state.last_seq - max(after, state.first_seq - 1))


async def _replay_stream(
    consumer: EventConsumer,
    after: int,
    report: ReplayReport,
    batch_size: int,
    read: Callable[[int], Awaitable[None]],
) -> int:
    """Apply the consumer's messages past stream sequence ``after``; returns the last
    stream sequence read (``after`` if none)."""
    js = consumer.bus.js
    subscription = await js.pull_subscribe(
        consumer.subscription.filter_subject,
        stream=consumer.subscription.stream,
        config=ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=after + 1,
            inactive_threshold=60.0,  # the server removes it if we die
        ),
    )
    try:
        # Messages past ``after`` may all be outside the filter: then there is nothing to
        # wait two seconds for (the final catch-up runs with the live consumers paused).
        if (await subscription.consumer_info()).num_pending == 0:
            return after
        while True:
            try:
                messages = await subscription.fetch(batch_size, timeout=2)
            except (NatsTimeoutError, TimeoutError):
                break  # nothing left
            events: list[Envelope] = []
            for message in messages:
                try:
                    events.append(parse(message.data))
                except ValueError:
                    report.unreadable += 1  # it went to the dead-letter stream when live
            await _apply_batch(consumer, events, report)
            if messages:
                after = messages[-1].metadata.sequence.stream
            await read(len(messages))
            if messages and messages[-1].metadata.num_pending == 0:
                break
    finally:
        await subscription.unsubscribe()
    return after


async def _apply_batch(
    consumer: EventConsumer, events: list[Envelope], report: ReplayReport
) -> None:
    """One transaction for the batch; if a handler fails, again with a savepoint per event
    so the one bad event is set aside (and reported) and the rest still applies."""
    try:
        async with consumer.sessionmaker() as session, session.begin():
            outcomes = await consumer.apply_batch(session, events)
            await consumer.finish(session)
    except Exception:  # noqa: BLE001 - find the culprit below
        outcomes = []
        async with consumer.sessionmaker() as session, session.begin():
            for event in events:
                kept = copy.deepcopy(session.info)  # what handlers gathered for at_transaction_end
                try:
                    async with session.begin_nested():
                        outcomes.append(await consumer.apply_in(session, event))
                except Exception as exc:  # noqa: BLE001
                    log.error("replay: event %s failed: %s", event.id, exc)
                    report.failed.append(event.id)
                    session.info.clear()
                    session.info.update(kept)
            await consumer.finish(session)
    report.events += len(events)
    for outcome in outcomes:
        report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1


#: Outcomes of a dead letter delivered again: the consumer has it now …
REPLAYED_OUTCOMES = frozenset({"applied", "ignored"})
#: Otherwise (``duplicate``, ``stale``) it had it already (the inbox) or has newer state
#: of the aggregate (the sequence): skipped, and removed all the same.


@dataclass
class DeadLetterReport:
    replayed: int = 0
    skipped: int = 0
    #: "<event id or stream sequence>: <reason>" of each dead letter kept
    failed: list[str] = field(default_factory=list)

    def add(self, other: DeadLetterReport) -> None:
        self.replayed += other.replayed
        self.skipped += other.skipped
        self.failed += other.failed


def dead_letter_subjects(consumer: EventConsumer) -> str:
    """Where ``consumer`` puts what it gives up on (see ``EventConsumer._dead_letter``)."""
    return f"{DEAD_LETTER_PREFIX}.{consumer.subscription.durable}.>"


async def dead_letter_count(js: JetStreamContext, durable: str) -> int:
    """Messages the durable consumer ``durable`` has dead-lettered and that are still kept."""
    try:
        info = await js.stream_info(
            DEAD_LETTER_STREAM, subjects_filter=f"{DEAD_LETTER_PREFIX}.{durable}.>"
        )
    except NotFoundError:
        return 0
    return sum((info.state.subjects or {}).values())


async def replay_dead_letters(
    consumers: list[EventConsumer], *, batch_size: int = 100
) -> DeadLetterReport:
    """Deliver every consumer's dead letters to it again (see the module docstring)."""
    report = DeadLetterReport()
    for consumer in consumers:
        report.add(await _replay_dead_letters_of(consumer, batch_size))
    return report


async def _replay_dead_letters_of(consumer: EventConsumer, batch_size: int) -> DeadLetterReport:
    report = DeadLetterReport()
    js = consumer.bus.js
    if await dead_letter_count(js, consumer.subscription.durable) == 0:
        return report
    subscription = await js.pull_subscribe(
        dead_letter_subjects(consumer),
        stream=DEAD_LETTER_STREAM,
        config=ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.ALL,
            inactive_threshold=60.0,  # the server removes it if we die
        ),
    )
    try:
        while True:
            try:
                messages = await subscription.fetch(batch_size, timeout=2)
            except (NatsTimeoutError, TimeoutError):
                break  # nothing left
            readable: list[tuple[Envelope, int]] = []
            for message in messages:
                position = message.metadata.sequence.stream
                try:
                    readable.append((parse(message.data), position))
                except ValueError as exc:
                    report.failed.append(f"#{position}: unreadable event: {exc}")
            # In the order they were produced: an aggregate's older event first, so it
            # applies before a newer one makes it stale.
            readable.sort(key=lambda pair: (pair[0].time, pair[0].sequence))
            for event, position in readable:
                try:
                    outcome = await consumer.apply(event)
                except Exception as exc:  # noqa: BLE001 - kept, reported, tried next time
                    log.error("dead letter %s failed again: %s", event.id, exc)
                    report.failed.append(f"{event.id}: {type(exc).__name__}: {exc}"[:500])
                    continue
                if outcome in REPLAYED_OUTCOMES:
                    report.replayed += 1
                else:  # duplicate or stale
                    report.skipped += 1
                await js.delete_msg(DEAD_LETTER_STREAM, position)
            if not messages or messages[-1].metadata.num_pending == 0:
                break
    finally:
        await subscription.unsubscribe()
    return report


async def replay_service_dead_letters(definition: ServiceDefinition) -> DeadLetterReport:
    """The dead letters of every consumer of a service, from a process of its own: the
    service's consumers as it builds them (handlers, settings), none of them started."""
    from kit.app import Runtime  # the app factory's wiring; kit.app does not import this module

    runtime = Runtime(definition)
    runtime.bus.start()
    try:
        await asyncio.wait_for(runtime.bus.wait_connected(), timeout=30)
        return await replay_dead_letters(runtime.consumers)
    finally:
        await runtime.bus.close()
        await runtime.engine.dispose()
