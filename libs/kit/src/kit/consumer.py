"""Idempotent event consumer (ARCHITECTURE §2.3, §3).

A durable JetStream pull consumer that applies what it fetches a batch at a time, in one
database transaction, set-wise: one statement records the batch's event ids in the inbox
(a duplicate stops there), one locks and reads the aggregates' positions (an event whose
``sequence`` is not newer is stale and changes nothing), the ``prepare`` hook loads what
the handlers will change in one go, the handlers run in order (gathering their effects),
one statement advances the positions and the ``at_transaction_end`` hook writes what the
handlers gathered. Only after the commit are the messages acknowledged; if anything in a
batch fails, its messages are handled one transaction each (the same path, a batch of one).
A failing message is redelivered with back-off up to ``max_deliver`` times, then copied
to the dead-letter subject ``deadletter.<consumer>.<original subject>`` and terminated;
once the cause is fixed, :func:`kit.replay.replay_dead_letters` delivers them again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry import trace
from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, func, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.catalogue import Catalogue
from kit import metrics, telemetry
from kit.bus import DEAD_LETTER_PREFIX, Bus
from kit.db import consumer_sessionmaker, is_transient
from kit.envelope import Envelope, parse

log = logging.getLogger(__name__)
LAG_INTERVAL_SECONDS = 5.0
PRUNE_INTERVAL_SECONDS = 60.0

#: Runs once at the end of each transaction of applied events, inside it (a fetched batch,
#: one event on the careful path, a batch in a replay): where handlers' accumulated work
#: is written in one go.
TransactionEnd = Callable[[AsyncSession], Awaitable[None]]

#: Runs once per transaction before the handlers, with the events about to be applied (read
#: for the first time, not stale, in order): where the rows they change are loaded and
#: locked in one query, so the handlers edit them in memory.
Prepare = Callable[[AsyncSession, list[Envelope]], Awaitable[None]]

#: Runs in the consumer's transaction. Returning ``"ignored"`` records that the event was
#: read but did not concern this service (an unknown household, a fact below a threshold
#: …); returning None means it was applied.
Handler = Callable[[AsyncSession, Envelope], Awaitable[str | None]]
HANDLER_OUTCOMES = frozenset({"applied", "ignored"})

#: Runs in the consumer's transaction with every event of the batch read for the first time,
#: before the handlers and whatever their outcome (applied, ignored, stale): work that
#: follows every event, such as republishing it through the consumer's own outbox.
OnReceived = Callable[[AsyncSession, list[Envelope]], Awaitable[None]]

#: Key of the PostgreSQL advisory lock between live consumers (shared, per event) and a
#: projection rebuild (exclusive, for its whole run): a rebuild never interleaves with
#: live events, and live events wait for it instead of writing into half-built tables.
REBUILD_LOCK_KEY = 0x4A5A5245  # "JZRE"
_REBUILD_SHARED_LOCK = text("SELECT pg_advisory_xact_lock_shared(:key)")

# The batch's statements: constant texts (prepared once per connection), arrays as
# parameters, whatever the batch's size.
#: Record the batch's event ids; those already there (or twice in it) are not returned.
_INBOX_RECORD = text(
    """
    INSERT INTO inbox (event_id, consumer, event_type, outcome)
    SELECT id, :consumer, type, 'applied'
    FROM unnest(CAST(:ids AS varchar[]), CAST(:types AS varchar[])) AS batch (id, type)
    ON CONFLICT DO NOTHING
    RETURNING event_id
    """
)
#: Outcomes other than "applied", once the handlers have run.
_INBOX_OUTCOMES = text(
    """
    UPDATE inbox SET outcome = batch.outcome
    FROM unnest(CAST(:ids AS varchar[]), CAST(:outcomes AS varchar[])) AS batch (id, outcome)
    WHERE inbox.event_id = batch.id
    """
)
#: Lock (creating at 0 those never seen) and read the aggregates' positions, in key order.
_POSITIONS_LOCK = text(
    """
    INSERT INTO aggregate_positions (consumer, aggregate_key, sequence)
    SELECT :consumer, key, 0 FROM unnest(CAST(:keys AS varchar[])) AS batch (key) ORDER BY key
    ON CONFLICT (consumer, aggregate_key)
        DO UPDATE SET sequence = aggregate_positions.sequence
    RETURNING aggregate_key, sequence
    """
)
_POSITIONS_ADVANCE = text(
    """
    UPDATE aggregate_positions SET sequence = batch.sequence, updated_at = now()
    FROM unnest(CAST(:keys AS varchar[]), CAST(:sequences AS bigint[])) AS batch (key, sequence)
    WHERE aggregate_positions.consumer = :consumer AND aggregate_positions.aggregate_key = batch.key
    """
)


def define_inbox_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Inbox (processed event ids) and per-aggregate positions, in the consumer's database."""
    inbox = Table(
        "inbox",
        metadata,
        Column("event_id", String(64), primary_key=True),
        Column("consumer", String(64), nullable=False),
        Column("event_type", String(255), nullable=False),
        Column("outcome", String(16), nullable=False, comment="applied | stale | ignored"),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    positions = Table(
        "aggregate_positions",
        metadata,
        Column("consumer", String(64), primary_key=True),
        Column(
            "aggregate_key", String(255), primary_key=True, comment="source#subject of the event"
        ),
        Column("sequence", BigInteger, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return inbox, positions


@dataclass(frozen=True)
class Subscription:
    """What one durable consumer reads: a producing service's stream."""

    durable: str  # e.g. "gateway-registry"
    stream: str  # e.g. "REGISTRY"
    filter_subject: str  # e.g. "registry.>"


class EventConsumer:
    """Runs one durable consumer with handlers keyed by event name (``registry.household.created``).

    ``ordered_by`` names, per event name, the payload field of a *part* of the aggregate
    that the event carries alone (a household's alert, a helper assignment). Such an event
    is ordered against earlier events of the same part, not of the whole aggregate: an
    alert event that arrives after a newer household snapshot still applies, since the
    snapshot does not carry the alert.
    """

    def __init__(
        self,
        *,
        service: str,
        subscription: Subscription,
        handlers: dict[str, Handler],
        catalogue: Catalogue,
        bus: Bus,
        sessionmaker: async_sessionmaker[AsyncSession],
        ordered_by: dict[str, str] | None = None,
        prepare: Prepare | None = None,
        at_transaction_end: TransactionEnd | None = None,
        on_received: OnReceived | None = None,
        max_deliver: int = 5,
        ack_wait_seconds: float = 30.0,
        inbox_retention_hours: float = 168.0,
        batch_size: int = 1000,
    ) -> None:
        self.service = service
        self.subscription = subscription
        self.handlers = handlers
        self.ordered_by = ordered_by or {}
        self.prepare = prepare
        self.at_transaction_end = at_transaction_end
        self.on_received = on_received
        self.catalogue = catalogue
        self.bus = bus
        self.sessionmaker = consumer_sessionmaker(sessionmaker)
        self.max_deliver = max_deliver
        self.ack_wait_seconds = ack_wait_seconds
        self.inbox_retention_hours = inbox_retention_hours
        self._pruned_at = 0.0
        self.batch_size = batch_size
        self._task: asyncio.Task[None] | None = None
        self._head: asyncio.Task[None] | None = None
        # Checked by the loop as well as cancelling it: a library that turns a
        # cancellation into an ordinary error (caught and retried) must not keep it alive.
        self._stopping = False
        self._tracer = telemetry.tracer("kit.consumer")
        self._metric_labels = (service, subscription.durable)
        self._lag_updated_at = 0.0
        #: Outcomes handled by this instance (the Prometheus counter sums all instances).
        self.outcomes: collections.Counter[str] = collections.Counter()

    def consumer_config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.subscription.durable,
            filter_subject=self.subscription.filter_subject,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait_seconds,
            max_deliver=self.max_deliver,
            # Room for two fetches: the next batch is on its way while one commits.
            max_ack_pending=max(2 * self.batch_size, 1000),
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.subscription.durable}-consumer")

    async def stop(self) -> None:
        self._stopping = True
        for task in (self._task, self._head):
            if task:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    # --- the head lane: live events are not kept waiting behind a backlog ------------------

    @property
    def following_the_head(self) -> bool:
        """Whether a head lane is applying newly published events (see :meth:`_head_lane`)."""
        return self._head is not None and not self._head.done()

    def _follow_the_head(self, backlog: int) -> None:
        """Start the head lane when a batch leaves a backlog of a batch or more behind it;
        stop it once the durable consumer has (nearly) caught up and takes over."""
        if backlog >= self.batch_size and not self.following_the_head and not self._stopping:
            self._head = asyncio.create_task(
                self._head_lane(), name=f"{self.subscription.durable}-head-lane"
            )
        elif backlog < self.batch_size and self._head is not None:
            self._head.cancel()
            self._head = None

    async def _head_lane(self) -> None:
        """While the durable consumer works through a backlog (an import's hundred thousand
        events), apply what is published from now on at once, so a live change is not
        kept waiting behind the whole backlog (the monitoring promise: a hospital bill
        raises its alert in seconds, however busy the county).

        An ephemeral consumer from the stream's end, without acks: it only runs ahead. The
        durable consumer still delivers every one of these events in its turn, and finds
        them in the inbox (duplicates) or, for an older event of an aggregate the head
        lane moved on, behind its position (stale), so nothing applies twice or goes
        backwards. An event the head lane fails to apply is simply left to the durable
        consumer's careful path (retries, dead letters)."""
        subscription = await self.bus.js.pull_subscribe(
            self.subscription.filter_subject,
            stream=self.subscription.stream,
            config=ConsumerConfig(
                ack_policy=AckPolicy.NONE,
                deliver_policy=DeliverPolicy.NEW,
                inactive_threshold=60.0,  # the server removes it if we die
            ),
        )
        log.info("consumer %s: backlog; following the head too", self.subscription.durable)
        try:
            while not self._stopping:
                try:
                    messages = await subscription.fetch(self.batch_size, timeout=1)
                except (NatsTimeoutError, TimeoutError):
                    continue
                readable: list[tuple[Msg, Envelope]] = []
                for message in messages:
                    with contextlib.suppress(ValueError):  # the durable one dead-letters it
                        readable.append((message, parse(message.data)))
                for attempt in range(2):  # once more after a clash with the backlog's batch
                    try:
                        await self._apply_ahead(readable)
                        break
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:  # noqa: BLE001 - left to the durable consumer
                        log.info("consumer %s: head lane: %s", self.subscription.durable, exc)
                        await asyncio.sleep(0.1 * (attempt + 1))
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _apply_ahead(self, readable: list[tuple[Msg, Envelope]]) -> None:
        if not readable:
            return
        messages = [message for message, _ in readable]
        async with self.sessionmaker() as session, session.begin():
            await self._wait_for_rebuild(session)
            outcomes = await self.apply_batch(
                session, [event for _, event in readable], messages=messages
            )
            await self.finish(session)
        for outcome in outcomes:
            self._count(outcome)

    async def _run(self) -> None:
        await self.bus.wait_connected()
        subscription = None
        while not self._stopping:
            try:
                if subscription is None:
                    subscription = await self.bus.js.pull_subscribe(
                        self.subscription.filter_subject,
                        durable=self.subscription.durable,
                        stream=self.subscription.stream,
                        config=self.consumer_config(),
                    )
                try:
                    messages = await subscription.fetch(self.batch_size, timeout=2)
                except (NatsTimeoutError, TimeoutError):
                    messages = []
                await self.process_batch(messages)
                self._follow_the_head(messages[-1].metadata.num_pending if messages else 0)
                await self._update_lag()
                await self._prune_inbox()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - stream missing, NATS away, …: retry
                log.warning("consumer %s: %s; retrying", self.subscription.durable, exc)
                subscription = None
                await asyncio.sleep(1.0)

    def _span(self, event: Envelope, message: Msg | None, batch: int) -> Any:
        """The consume span of one event: a child of the producer's trace, whose context the
        message's headers carry (an event replayed from elsewhere starts its own)."""
        subject = message.subject if message is not None else event.type
        return self._tracer.start_as_current_span(
            f"consume {subject}",
            context=telemetry.context_from_headers(message.headers if message else None),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": subject,
                "messaging.message.id": event.id,
                "messaging.consumer.group.name": self.subscription.durable,
                "jingzhun.batch": batch,
            },
        )

    async def process_batch(self, messages: list[Msg]) -> None:
        """Apply a fetched batch in one transaction, then ack every message: a transaction
        per event was most of the cost of catching up on a backlog. If anything in the
        batch fails, nothing of it is kept and each message takes the careful path of
        :meth:`process` (retries, outages ridden out, dead letters)."""
        if len(messages) < 2:
            for message in messages:
                await self.process(message)
            return
        try:
            events = [parse(message.data) for message in messages]
            async with self.sessionmaker() as session, session.begin():
                await self._wait_for_rebuild(session)
                outcomes = await self.apply_batch(session, events, messages=messages)
                await self.finish(session)
        except Exception as exc:  # noqa: BLE001 - an unreadable event, a failing handler, an outage
            log.info(
                "consumer %s: batch of %d failed (%s); one by one",
                self.subscription.durable,
                len(messages),
                exc,
            )
            for message in messages:
                await self.process(message)
            return
        for message, outcome in zip(messages, outcomes, strict=True):
            self._count(outcome)
            await message.ack()

    def _count(self, outcome: str) -> None:
        metrics.EVENTS_CONSUMED.labels(*self._metric_labels, outcome).inc()
        self.outcomes[outcome] += 1

    async def process(self, message: Msg) -> None:
        """Handle one delivery: apply at most once, then ack; on failure nak or dead-letter."""
        try:
            event = parse(message.data)
        except ValueError as exc:
            await self._dead_letter(message, f"unparseable event: {exc}")
            return
        try:
            outcome = await self._apply_riding_out_outages(event, message)
        except Exception as exc:  # noqa: BLE001
            delivered = message.metadata.num_delivered
            if delivered >= self.max_deliver:
                await self._dead_letter(message, f"{type(exc).__name__}: {exc}")
            else:
                log.warning("event %s failed (delivery %d): %s", event.id, delivered, exc)
                metrics.EVENTS_CONSUMED.labels(*self._metric_labels, "retried").inc()
                await message.nak(delay=min(2.0**delivered, 30.0))
            return
        self._count(outcome)
        await message.ack()

    async def _apply_riding_out_outages(self, event: Envelope, message: Msg) -> str:
        """Apply; while the database is away, wait and retry here (telling JetStream the
        message is in progress) so an outage never uses up deliveries or dead-letters a
        good event. Other errors propagate to be retried by redelivery."""
        pause = 0.2
        while True:
            try:
                return await self.apply(event, message)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning(
                    "consumer %s: database unavailable (%s); retrying in %.1fs",
                    self.subscription.durable,
                    exc,
                    pause,
                )
                metrics.EVENTS_CONSUMED.labels(*self._metric_labels, "waiting").inc()
                with contextlib.suppress(Exception):
                    await message.in_progress()
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)

    async def apply(self, event: Envelope, message: Msg | None = None) -> str:
        """Apply one event idempotently in its own transaction; returns the outcome."""
        async with self.sessionmaker() as session, session.begin():
            await self._wait_for_rebuild(session)
            (outcome,) = await self.apply_batch(
                session, [event], messages=[message] if message else None
            )
            await self.finish(session)
            return outcome

    async def _wait_for_rebuild(self, session: AsyncSession) -> None:
        await session.execute(_REBUILD_SHARED_LOCK, {"key": REBUILD_LOCK_KEY})

    async def finish(self, session: AsyncSession) -> None:
        """The end of a transaction of applied events: run the ``at_transaction_end`` hook."""
        if self.at_transaction_end is not None:
            await self.at_transaction_end(session)

    def ordering_key(self, event: Envelope, name: str | None) -> str:
        """The aggregate (or part of it) whose ``sequence`` orders this event."""
        field_name = self.ordered_by.get(name or "")
        if field_name is None:
            return event.aggregate_key
        return f"{event.aggregate_key}/{event.data.get(field_name)}"

    async def apply_in(self, session: AsyncSession, event: Envelope) -> str:
        """Apply one event idempotently in the caller's transaction; returns the outcome."""
        (outcome,) = await self.apply_batch(session, [event])
        return outcome

    async def apply_batch(
        self,
        session: AsyncSession,
        events: list[Envelope],
        *,
        messages: list[Msg] | None = None,
    ) -> list[str]:
        """Apply ``events`` idempotently, in order, in the caller's transaction; returns
        their outcomes (applied, ignored, stale, duplicate). ``messages``, when the events
        were just delivered, name each event's consume span and make it a child of its
        producer's trace."""
        consumer = self.subscription.durable
        outcomes: list[str] = [""] * len(events)
        first_time = set(
            (
                await session.execute(
                    _INBOX_RECORD,
                    {
                        "consumer": consumer,
                        "ids": [event.id for event in events],
                        "types": [event.type for event in events],
                    },
                )
            ).scalars()
        )
        fresh: list[int] = []
        for index, event in enumerate(events):
            if event.id in first_time:
                first_time.discard(event.id)  # a second copy in the same batch is a duplicate
                fresh.append(index)
            else:
                outcomes[index] = "duplicate"
        if self.on_received is not None and fresh:
            await self.on_received(session, [events[index] for index in fresh])

        handled: list[tuple[int, Handler, str]] = []  # (index, handler, ordering key)
        for index in fresh:
            spec = self.catalogue.by_type(events[index].type)
            handler = self.handlers.get(spec.name) if spec else None
            if handler is None:
                outcomes[index] = "ignored"
            else:
                key = self.ordering_key(events[index], spec.name if spec else None)
                handled.append((index, handler, key))
        # The upsert locks each aggregate's row (in key order: two consumers never lock
        # crosswise), so the events of one aggregate apply one transaction after the other.
        positions: dict[str, int] = {}
        if handled:
            keys = sorted({key for _, _, key in handled})
            found = await session.execute(_POSITIONS_LOCK, {"consumer": consumer, "keys": keys})
            positions = {key: sequence for key, sequence in found}
        to_apply: list[tuple[int, Handler]] = []
        advanced: dict[str, int] = {}
        for index, handler, key in handled:
            event = events[index]
            last = positions[key]
            if event.sequence <= last:
                outcomes[index] = "stale"
                continue
            if event.sequence > last + 1 and key == event.aggregate_key:
                log.info(
                    "gap in %s: had %d, got %d (state-carrying events converge anyway)",
                    key,
                    last,
                    event.sequence,
                )
            positions[key] = advanced[key] = event.sequence
            to_apply.append((index, handler))

        if self.prepare is not None and to_apply:
            await self.prepare(session, [events[index] for index, _ in to_apply])
        for index, handler in to_apply:
            event = events[index]
            message = messages[index] if messages is not None else None
            with self._span(event, message, len(events)) as span:
                outcome = await handler(session, event) or "applied"
                span.set_attribute("jingzhun.outcome", outcome)
            if outcome not in HANDLER_OUTCOMES:
                raise ValueError(
                    f"handler returned {outcome!r}; expected one of {HANDLER_OUTCOMES}"
                )
            outcomes[index] = outcome

        if advanced:
            await session.execute(
                _POSITIONS_ADVANCE,
                {
                    "consumer": consumer,
                    "keys": list(advanced),
                    "sequences": list(advanced.values()),
                },
            )
        unusual = [index for index in fresh if outcomes[index] != "applied"]
        if unusual:
            await session.execute(
                _INBOX_OUTCOMES,
                {
                    "ids": [events[index].id for index in unusual],
                    "outcomes": [outcomes[index] for index in unusual],
                },
            )
        return outcomes

    async def _dead_letter(self, message: Msg, reason: str) -> None:
        """Keep the poison message visible on the dead-letter stream, then stop redelivery."""
        subject = f"{DEAD_LETTER_PREFIX}.{self.subscription.durable}.{message.subject}"
        headers = dict(message.headers or {})
        headers.pop("Nats-Msg-Id", None)
        headers["Jingzhun-Dead-Letter-Reason"] = reason[:1000]
        headers["Jingzhun-Original-Subject"] = message.subject
        await self.bus.js.publish(subject, message.data, headers=headers)
        log.error("dead-lettered %s: %s", message.subject, reason)
        metrics.EVENTS_CONSUMED.labels(*self._metric_labels, "dead_lettered").inc()
        await message.term()

    async def prune_inbox(self) -> int:
        """Forget this consumer's event ids received longer ago than the retention, in
        bounded chunks. The inbox only has to catch redeliveries, which come within
        minutes; an event delivered again after that (a replayed stream) is still refused
        by its aggregate's position in ``aggregate_positions``, which is never pruned."""
        async with self.sessionmaker() as session, session.begin():
            result = await session.execute(
                text(
                    "DELETE FROM inbox WHERE event_id IN (SELECT event_id FROM inbox "
                    "WHERE consumer = :consumer AND received_at < now() - "
                    "make_interval(secs => :seconds) LIMIT 10000)"
                ),
                {
                    "consumer": self.subscription.durable,
                    "seconds": self.inbox_retention_hours * 3600,
                },
            )
        return result.rowcount

    async def _prune_inbox(self) -> None:
        """At most once a minute; a failure waits for the next time."""
        now = time.monotonic()
        if now - self._pruned_at < PRUNE_INTERVAL_SECONDS:
            return
        self._pruned_at = now
        with contextlib.suppress(Exception):
            await self.prune_inbox()

    async def _update_lag(self) -> None:
        """Refresh the pending-events gauge, at most once per LAG_INTERVAL_SECONDS."""
        now = time.monotonic()
        if now - self._lag_updated_at < LAG_INTERVAL_SECONDS:
            return
        self._lag_updated_at = now
        with contextlib.suppress(Exception):
            info = await self.bus.js.consumer_info(
                self.subscription.stream, self.subscription.durable
            )
            metrics.CONSUMER_PENDING.labels(*self._metric_labels).set(
                info.num_pending + info.num_ack_pending
            )
