"""Replaying events into a consumer: a whole rebuild, or only what was dead-lettered.

:func:`replay` rebuilds a consumer's projections from its source streams. The projection tables and the inbox are emptied, then every event still in the streams is
applied again by the *same* handlers, through the same idempotent path as live delivery
(:meth:`kit.consumer.EventConsumer.apply_batch`), a batch per transaction. The state it
leaves is therefore the state live consumption reaches. While it runs it holds the
exclusive side of :data:`kit.consumer.REBUILD_LOCK_KEY`: live consumers of the same
database wait instead of writing into half-built tables, then carry on (their inbox makes
re-deliveries harmless).

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
import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from kit.bus import DEAD_LETTER_PREFIX, DEAD_LETTER_STREAM
from kit.consumer import REBUILD_LOCK_KEY, EventConsumer
from kit.envelope import Envelope, parse

if TYPE_CHECKING:
    from nats.js import JetStreamContext

    from kit.app import ServiceDefinition

log = logging.getLogger(__name__)

#: progress(stream, events done, events in the stream)
Progress = Callable[[str, int, int], None]


@dataclass
class ReplayReport:
    events: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    unreadable: int = 0
    failed: list[str] = field(default_factory=list)  # event ids whose handler raised


async def replay(
    engine: AsyncEngine,
    consumers: list[EventConsumer],
    projection_tables: list[Table],
    *,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> ReplayReport:
    """Empty ``projection_tables`` and the inbox, then replay every consumer's stream."""
    report = ReplayReport()
    # The session-level lock needs no transaction; an idle open one would hold back the
    # xmin horizon for the whole replay, so no dead version of the rows it rewrites could
    # be pruned and each update would walk longer chains of them.
    async with engine.connect() as lock:
        await lock.execution_options(isolation_level="AUTOCOMMIT")
        await lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": REBUILD_LOCK_KEY})
        try:
            async with engine.begin() as conn:
                names = ", ".join(t.name for t in projection_tables)
                await conn.execute(text(f"TRUNCATE {names}, inbox, aggregate_positions"))
            for consumer in consumers:
                await _replay_stream(consumer, report, batch_size, progress)
        finally:
            await lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": REBUILD_LOCK_KEY})
    return report


async def _replay_stream(
    consumer: EventConsumer, report: ReplayReport, batch_size: int, progress: Progress | None
) -> None:
    js = consumer.bus.js
    stream = consumer.subscription.stream
    try:
        total = (await js.stream_info(stream)).state.messages
    except NotFoundError:
        return  # the producer has never published: nothing to replay
    if total == 0:
        return
    subscription = await js.pull_subscribe(
        consumer.subscription.filter_subject,
        stream=stream,
        config=ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.ALL,
            inactive_threshold=60.0,  # the server removes it if we die
        ),
    )
    done = 0
    try:
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
            done += len(messages)
            if progress:
                progress(stream, done, total)
            if messages and messages[-1].metadata.num_pending == 0:
                break
    finally:
        await subscription.unsubscribe()


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
