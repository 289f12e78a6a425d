"""Rebuild a consumer's projections by replaying its source streams from the start.

The projection tables and the inbox are emptied, then every event still in the streams is
applied again by the *same* handlers, through the same idempotent path as live delivery
(:meth:`kit.consumer.EventConsumer.apply_in`), a batch per transaction. The state it
leaves is therefore the state live consumption reaches. While it runs it holds the
exclusive side of :data:`kit.consumer.REBUILD_LOCK_KEY`: live consumers of the same
database wait instead of writing into half-built tables, then carry on (their inbox makes
re-deliveries harmless).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from kit.consumer import REBUILD_LOCK_KEY, EventConsumer
from kit.envelope import Envelope, parse

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
    # xmin horizon for the whole replay, so no version of the counters it rewrites could
    # be pruned and each update would walk longer chains of dead ones.
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
            outcomes = [await consumer.apply_in(session, event) for event in events]
    except Exception:  # noqa: BLE001 - find the culprit below
        outcomes = []
        async with consumer.sessionmaker() as session, session.begin():
            for event in events:
                try:
                    async with session.begin_nested():
                        outcomes.append(await consumer.apply_in(session, event))
                except Exception as exc:  # noqa: BLE001
                    log.error("replay: event %s failed: %s", event.id, exc)
                    report.failed.append(event.id)
    report.events += len(events)
    for outcome in outcomes:
        report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
