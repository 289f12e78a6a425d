"""The raw baseline a consumer is measured against (any service's benchmark can use it).

The same messages the consumer reads, fetched from JetStream with nats-py in large batches
(a pull consumer of its own, ``fetch(1000)``), their envelopes parsed (``kit.envelope``),
and the same final rows written into look-alike tables: ``CREATE TABLE … (LIKE … INCLUDING
ALL)`` in a scratch schema of the consumer's database, so the same columns, defaults and
indexes (not the triggers). One transaction per batch, whose writer
(:data:`WriteBatch`) issues one set-wise statement per table; the batch is acknowledged
after its commit (one ``AckPolicy.ALL`` ack for all of it). No framework, no ORM, no
per-event statement: the limit a consumer could reach on this machine, what its own
events/s are compared with (as a ratio within one run).
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import nats
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from kit.envelope import Envelope, parse

SCHEMA = "raw_baseline"
BATCH = 1000

#: Writes one batch's final rows, in the transaction open on the connection (whose
#: search_path is the scratch schema: unqualified names are the look-alike tables).
WriteBatch = Callable[[asyncpg.Connection, list[Envelope]], Awaitable[None]]


@dataclass(frozen=True)
class BaselineRun:
    events: int
    seconds: float
    #: What ``check`` returned, read from the look-alike tables before they were dropped.
    checked: Any = None

    @property
    def rate(self) -> float:
        return self.events / max(self.seconds, 1e-3)


def encode_json(value: object) -> str:
    """jsonb parameters: uuids, dates and datetimes as PostgreSQL reads them back."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


async def raw_baseline(
    nats_url: str,
    dsn: str,
    *,
    stream: str,
    filter_subject: str,
    tables: list[str],
    write: WriteBatch,
    batch: int = BATCH,
    check: Callable[[str], Awaitable[Any]] | None = None,
) -> BaselineRun:
    """Read every message of ``stream`` matching ``filter_subject`` and write its rows
    with ``write`` into copies of ``tables``; ``check(schema)`` reads what it needs of
    them (to compare with the consumer's own tables) before they are dropped."""
    conn = await asyncpg.connect(dsn)
    bus = await nats.connect(nats_url)
    durable = f"raw-baseline-{uuid.uuid4().hex[:8]}"
    js = bus.jetstream()
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}")
        for table in tables:
            await conn.execute(f"CREATE TABLE {SCHEMA}.{table} (LIKE public.{table} INCLUDING ALL)")
        await conn.execute(f"SET search_path TO {SCHEMA}")
        await conn.set_type_codec(
            "jsonb", encoder=encode_json, decoder=json.loads, schema="pg_catalog"
        )
        subscription = await js.pull_subscribe(
            filter_subject,
            durable=durable,
            stream=stream,
            config=ConsumerConfig(
                ack_policy=AckPolicy.ALL,
                deliver_policy=DeliverPolicy.ALL,
                max_ack_pending=batch * 2,
                ack_wait=60,
            ),
        )
        total = (await subscription.consumer_info()).num_pending
        done = 0
        started = time.perf_counter()
        while done < total:
            try:
                messages = await subscription.fetch(batch, timeout=5)
            except (NatsTimeoutError, TimeoutError):
                continue
            events = [parse(message.data) for message in messages]
            async with conn.transaction():
                await write(conn, events)
            await messages[-1].ack()
            done += len(messages)
        seconds = time.perf_counter() - started
        checked = await check(SCHEMA) if check is not None else None
        return BaselineRun(events=done, seconds=seconds, checked=checked)
    finally:
        with contextlib.suppress(Exception):  # not created, if the subscription failed
            await js.delete_consumer(stream, durable)
        await bus.close()
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        await conn.close()
