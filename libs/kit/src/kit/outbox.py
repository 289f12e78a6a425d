"""Transactional outbox (ARCHITECTURE §2.2, §3).

A service writes its event row in the same transaction as the state change (through
its one write path, :meth:`kit.changes.Changes.record`). The :class:`OutboxRelay` publishes committed rows to JetStream:
it wakes on ``LISTEN/NOTIFY`` (plus a slow sweep), claims rows with
``FOR UPDATE SKIP LOCKED`` so several replicas cooperate, publishes with
``Nats-Msg-Id`` = event id (the broker drops a duplicate if a publish is retried) and
marks the row published only after JetStream acknowledged it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from nats.js.api import StreamConfig
from opentelemetry import trace
from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from contracts.catalogue import EventSpec
from kit import envelope, metrics, telemetry
from kit.bus import Bus, service_stream
from kit.db import asyncpg_dsn

log = logging.getLogger(__name__)
NOTIFY_CHANNEL = "jingzhun_outbox"
PUBLISH_TIMEOUT_SECONDS = 5.0
PRUNE_INTERVAL_SECONDS = 60.0


def define_outbox_table(metadata: MetaData) -> Table:
    """The outbox table, added to a service's own metadata (and so to its migrations)."""
    return Table(
        "outbox",
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True, comment="event id = Nats-Msg-Id"),
        Column(
            "position", BigInteger, Identity(), nullable=False, unique=True, comment="publish order"
        ),
        Column("subject", String(255), nullable=False),
        Column("event_type", String(255), nullable=False),
        Column("aggregate_id", String(64), nullable=False),
        Column("envelope", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("last_error", Text, nullable=True),
        Index("ix_outbox_unpublished", "position", postgresql_where=text("published_at IS NULL")),
    )


class Outbox:
    """Writes events of one service into its outbox table.

    ``stream`` is the JetStream stream the relay publishes into (created at start); by
    default the service's own (``REGISTRY`` ← ``registry.>``)."""

    def __init__(
        self,
        table: Table,
        *,
        service: str,
        stream: Callable[[], StreamConfig] | None = None,
    ) -> None:
        self.table = table
        self.service = service
        self.source = f"/jingzhun/{service}"
        self._stream = stream or (lambda: service_stream(service))
        # One constant statement whatever the number of events (prepared once).
        self._forward = text(
            f"""
            INSERT INTO {table.name} (id, subject, event_type, aggregate_id, envelope)
            SELECT id, subject, type, aggregate, CAST(envelope AS jsonb)
            FROM unnest(
                CAST(:ids AS uuid[]), CAST(:subjects AS varchar[]), CAST(:types AS varchar[]),
                CAST(:aggregates AS varchar[]), CAST(:envelopes AS text[])
            ) AS forwarded (id, subject, type, aggregate, envelope)
            ON CONFLICT (id) DO NOTHING
            """
        )

    def stream(self) -> StreamConfig:
        """A fresh config of the stream (callers set its replicas)."""
        return self._stream()

    def row(
        self,
        spec: EventSpec,
        *,
        aggregate_id: uuid.UUID | str,
        region: str,
        sequence: int,
        data: BaseModel,
    ) -> dict[str, Any]:
        """The outbox row of one event (column → value, ``envelope`` as a dict): the one place
        an event row is built, for :meth:`kit.changes.Changes.event_row`."""
        if spec.producer != self.service:
            raise ValueError(f"{self.service} cannot publish {spec.name}")
        event_id, body = envelope.build(
            spec,
            source=self.source,
            aggregate_id=str(aggregate_id),
            region=region,
            sequence=sequence,
            data=data,
            traceparent=telemetry.current_traceparent(),
        )
        return dict(
            id=event_id,
            subject=spec.subject(region),
            event_type=spec.type,
            aggregate_id=str(aggregate_id),
            envelope=body,
        )

    async def stage(self, session: AsyncSession, row: dict[str, Any]) -> None:
        """Insert a row built by :meth:`row` in the caller's transaction and wake the relay."""
        await session.execute(insert(self.table).values(**row))
        await notify(session)

    async def forward(self, session: AsyncSession, events: list[Forwarded]) -> None:
        """Stage events built elsewhere (derived copies of consumed events) in the caller's
        transaction, one statement for all. An id is the Nats-Msg-Id; staging one twice
        keeps one row."""
        if not events:
            return
        await session.execute(
            self._forward,
            {
                "ids": [event.event_id for event in events],
                "subjects": [event.subject for event in events],
                "types": [str(event.body.get("type", ""))[:255] for event in events],
                "aggregates": [str(event.body.get("subject", ""))[:64] for event in events],
                "envelopes": [json.dumps(event.body, ensure_ascii=False) for event in events],
            },
        )
        await notify(session)


@dataclass(frozen=True)
class Forwarded:
    """An event to stage as it is (see :meth:`Outbox.forward`)."""

    event_id: uuid.UUID
    subject: str
    body: dict[str, Any]


async def notify(session: AsyncSession) -> None:
    """Wake the relay; delivered to listeners only when (and if) the transaction commits.

    Once per transaction: PostgreSQL delivers one notification per distinct payload at
    commit anyway, and a batch staging a thousand events would otherwise pay a thousand
    round trips for it. (A savepoint rolled back after it takes it along: the relay's
    sweep then finds the rows, seconds later.)"""
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_NOTIFIED) == id(transaction):
        return
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    if transaction is not None:  # else the statement began one: noted at the next call
        session.info[_NOTIFIED] = id(transaction)


#: session.info key: the transaction (its id: session.info is copied whole by a replay's
#: careful path) that has already woken the relay.
_NOTIFIED = "kit.outbox.notified"


class OutboxRelay:
    """Background task publishing committed outbox rows to JetStream."""

    def __init__(
        self,
        *,
        service: str,
        engine: AsyncEngine,
        database_url: str,
        bus: Bus,
        sweep_seconds: float = 5.0,
        batch_size: int = 200,
        retention_hours: float = 168.0,
    ) -> None:
        self.service = service
        self.engine = engine
        self.dsn = asyncpg_dsn(database_url)
        self.bus = bus
        self.sweep_seconds = sweep_seconds
        self.batch_size = batch_size
        self.retention_hours = retention_hours
        self._pruned_at = 0.0
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        # Checked by the loop as well as cancelling it: a library that turns a
        # cancellation into an ordinary error (caught and retried) must not keep it alive.
        self._stopping = False
        self._tracer = telemetry.tracer("kit.outbox")
        #: Rows this instance published (the Prometheus counter sums all instances).
        self.published = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.service}-outbox-relay")

    async def stop(self) -> None:
        self._stopping = True
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._close_listener()

    async def _run(self) -> None:
        backoff = 0.0
        await self.bus.wait_connected()
        while not self._stopping:
            await self._ensure_listener()
            # Cleared before the batch: a NOTIFY arriving while it runs wakes the next round.
            self._wake.clear()
            try:
                published = await self.publish_batch()
                backoff = 0.0
            except Exception as exc:  # noqa: BLE001 - NATS or DB away: wait and retry
                metrics.PUBLISH_FAILURES.labels(self.service).inc()
                backoff = min(max(backoff * 2, 0.25), self.sweep_seconds)
                log.warning("outbox relay of %s: %s; retrying in %.2fs", self.service, exc, backoff)
                await asyncio.sleep(backoff)
                continue
            if published >= self.batch_size:
                continue  # more are waiting
            await self._update_lag()
            await self._prune()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.sweep_seconds)

    async def publish_batch(self) -> int:
        """Claim, publish and mark one batch; returns how many rows were published.

        The batch is pipelined (all messages sent, then all acks awaited), so a batch costs
        about one round trip rather than one per event.
        """
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    text(
                        # The envelope as PostgreSQL writes it (valid JSON, sent as is): a
                        # decode and an encode per event less.
                        "SELECT id, subject, envelope::text AS body, "
                        "envelope->>'traceparent' AS traceparent FROM outbox "
                        "WHERE published_at IS NULL "
                        "ORDER BY position LIMIT :limit FOR UPDATE SKIP LOCKED"
                    ),
                    {"limit": self.batch_size},
                )
            ).all()
            if not rows:
                return 0
            acks = [
                await self._send(row.id, row.subject, row.body, row.traceparent) for row in rows
            ]
            try:
                results = await asyncio.wait_for(
                    asyncio.gather(*acks, return_exceptions=True), timeout=PUBLISH_TIMEOUT_SECONDS
                )
            except TimeoutError:
                # No ack at all (NATS away): nothing is marked; a retry is deduplicated by
                # the broker through Nats-Msg-Id if some of these did arrive.
                raise TimeoutError(f"no JetStream ack within {PUBLISH_TIMEOUT_SECONDS}s") from None
            published = [
                row.id
                for row, result in zip(rows, results, strict=True)
                if not isinstance(result, BaseException)
            ]
            failures = [
                (row.id, result)
                for row, result in zip(rows, results, strict=True)
                if isinstance(result, BaseException)
            ]
            if published:
                await conn.execute(
                    text("UPDATE outbox SET published_at = now() WHERE id = ANY(:ids)"),
                    {"ids": published},
                )
            for event_id, error in failures:
                await conn.execute(
                    text(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = :e WHERE id = :id"
                    ),
                    {"id": event_id, "e": f"{type(error).__name__}: {error}"[:2000]},
                )
        metrics.EVENTS_PUBLISHED.labels(self.service).inc(len(published))
        self.published += len(published)
        if failures:
            raise RuntimeError(
                f"{len(failures)} of {len(rows)} events not acknowledged: {failures[0][1]!r}"
            )
        return len(published)

    async def _send(
        self, event_id: uuid.UUID, subject: str, body: str, traceparent: str | None
    ) -> asyncio.Future:
        """Send one event (span: publish) and return the future of its JetStream ack."""
        parent = telemetry.context_from_traceparent(traceparent)
        with self._tracer.start_as_current_span(
            f"publish {subject}",
            context=parent,
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": subject,
                "messaging.message.id": str(event_id),
            },
        ):
            headers = telemetry.inject_headers({"Nats-Msg-Id": str(event_id)})
            headers["Content-Type"] = envelope.CONTENT_TYPE
            return await self.bus.js.publish_async(subject, body.encode(), headers=headers)

    async def _prune(self) -> None:
        """Delete old published rows (at most once a minute, in bounded chunks)."""
        if time.monotonic() - self._pruned_at < PRUNE_INTERVAL_SECONDS:
            return
        self._pruned_at = time.monotonic()
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE published_at IS NOT NULL "
                    "AND published_at < now() - make_interval(secs => :seconds) LIMIT 10000)"
                ),
                {"seconds": self.retention_hours * 3600},
            )

    async def _update_lag(self) -> None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT count(*) AS n, min(created_at) AS oldest FROM outbox WHERE published_at IS NULL"
                    )
                )
            ).one()
        metrics.OUTBOX_PENDING.labels(self.service).set(row.n)
        age = (dt.datetime.now(dt.UTC) - row.oldest).total_seconds() if row.oldest else 0.0
        metrics.OUTBOX_LAG_SECONDS.labels(self.service).set(max(age, 0.0))

    async def _ensure_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        try:
            self._listener = await asyncpg.connect(self.dsn)
            await self._listener.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
        except Exception as exc:  # noqa: BLE001 - the sweep still works without it
            log.warning("outbox listener unavailable (%s); relying on the sweep", exc)
            self._listener = None

    async def _close_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
