"""A service consumer's events/s against its raw baseline: what every service's benchmark
shares (gateway_scale.py measures the gateway and health with it).

- :func:`drain_rate` waits while a running service's consumer drains its stream and
  returns its events/s: the events it committed (its inbox rows, kit's table in every
  consumer's database) over the time they took, from the first committed event on (the
  process's start-up is not counted). The backlog is what JetStream still holds for the
  durable consumer: ``num_pending`` (not delivered) plus ``num_ack_pending`` (delivered,
  not yet acknowledged, which the consumer does after its commit).
- :func:`sort_batch` and :func:`write_inbox_and_positions`: what a baseline's writer
  (``consumer_baseline.WriteBatch``) does for any consumer of kit's kind, the inbox check,
  the aggregate positions (stale events) and their rows, set-wise; the writer adds the
  service's own final rows.
- :func:`baseline_of`: the raw baseline of what a subscription reads, printed.
- :func:`measure_consumer`: a service consumer on a database of its own, from scratch: the
  raw baseline first (the machine to itself), then the service's process draining the same
  events, then a check that both wrote the same rows.
- :func:`print_rates`: every rate of a run as a ratio to its own raw baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import nats
from common import serve
from consumer_baseline import BaselineRun, WriteBatch, raw_baseline
from nats.js.errors import NotFoundError

from devstack.project import ServiceInfo
from devstack.provisioning import migrate
from devstack.servers import PostgresServer, stop_process
from kit.bus import service_stream
from kit.consumer import Subscription
from kit.db import asyncpg_dsn
from kit.envelope import Envelope

Decoded = TypeVar("Decoded")

#: A drain that made no progress for this long will not finish: the benchmark stops.
STALL_SECONDS = 120.0
#: Progress lines of a long wait, at most this often.
PROGRESS_SECONDS = 10.0


async def fetchval(dsn: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


class Backlog:
    """What JetStream still holds for one durable consumer, and the stream operations a
    benchmark needs around it (one NATS connection, kept)."""

    def __init__(self, nats_url: str, subscription: Subscription) -> None:
        self.nats_url = nats_url
        self.subscription = subscription

    async def __aenter__(self) -> Backlog:
        self._bus = await nats.connect(self.nats_url)
        self._js = self._bus.jetstream()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._bus.close()

    async def left(self) -> int | None:
        """Events not yet acknowledged; None while the service has not created its
        durable consumer."""
        try:
            info = await self._js.consumer_info(self.subscription.stream, self.subscription.durable)
        except NotFoundError:
            return None
        return info.num_pending + info.num_ack_pending

    async def purge(self, stream: str) -> None:
        """Empty ``stream`` (if there is one)."""
        with contextlib.suppress(NotFoundError):
            await self._js.purge_stream(stream)

    async def forget(self) -> None:
        """Delete the durable consumer, so that the service reads its stream from the start."""
        with contextlib.suppress(NotFoundError):
            await self._js.delete_consumer(self.subscription.stream, self.subscription.durable)


def count(value: int | None) -> str:
    """A backlog for a progress line: ? while the consumer does not exist yet."""
    return "?" if value is None else f"{value:,}"


@dataclass(frozen=True)
class Drain:
    #: Events committed from the first one seen to the end, and the seconds that took.
    events: int
    seconds: float
    #: The backlog when the consumer was first seen: what it had to drain.
    backlog: int

    @property
    def rate(self) -> float:
        return self.events / max(self.seconds, 1e-3)


async def drain_rate(
    label: str, dsn: str, backlog: Backlog, process: Any, timeout: float = 4 * 3600
) -> Drain:
    """Wait until the consumer of ``backlog`` (running in ``process``, writing its inbox in
    ``dsn``) has acknowledged everything in its stream; its rate from its first committed
    event on. Polls every 0.2 s; fails when the process exits, when nothing moves for
    STALL_SECONDS (what stops a drain that will not end), or after ``timeout`` (a slow
    consumer of a large county may take an hour and more, and is still measured)."""
    conn = await asyncpg.connect(dsn)
    try:
        return await _drain(label, conn, backlog, process, timeout)
    finally:
        await conn.close()


async def _drain(
    label: str, conn: asyncpg.Connection, backlog: Backlog, process: Any, timeout: float
) -> Drain:
    durable = backlog.subscription.durable

    async def committed() -> int:
        return await conn.fetchval("SELECT count(*) FROM inbox WHERE consumer = $1", durable)

    started = moved = shown = time.perf_counter()
    first: tuple[float, int] | None = None  # (when, inbox rows) at the first committed event
    initial: int | None = None
    last: int | None = None
    # The backlog (JetStream, cheap) every 0.2 s; the inbox is counted until the first
    # commit, for a progress line and at the end (a count of 100,000 rows every 0.2 s
    # would take a share of the cores the consumer is measured on).
    while True:
        left = await backlog.left()
        now = time.perf_counter()
        if first is None:
            done = await committed()
            if initial is None and left is not None:
                initial = left + done
            if done > 0:
                first = (now, done)
        if left == 0 and first is not None:
            done = await committed()
            return Drain(events=done - first[1], seconds=now - first[0], backlog=initial or 0)
        if left != last:
            last, moved = left, now
        if process.poll() is not None:
            raise RuntimeError(f"{label}: the server exited with code {process.returncode}")
        if now - moved > STALL_SECONDS:
            what = "never created its consumer" if left is None else "made no progress"
            raise TimeoutError(
                f"{label}: {what} for {STALL_SECONDS:.0f} s ({await committed():,} events "
                f"committed, {count(left)} left)"
            )
        if now - started > timeout:
            raise TimeoutError(
                f"{label}: {await committed():,} events committed, {count(left)} left "
                f"after {timeout:.0f} s"
            )
        if now - shown > PROGRESS_SECONDS:
            shown = now
            print(
                f"    … {label}: {await committed():,} events committed, {count(left)} left",
                flush=True,
            )
        await asyncio.sleep(0.2)


async def sort_batch(
    conn: asyncpg.Connection,
    consumer: str,
    events: list[Envelope],
    decode: Callable[[Envelope], Decoded | None],
) -> tuple[list[Envelope], list[str], list[tuple[Envelope, Decoded]]]:
    """What kit's consumer decides for a batch, set-wise: one query checks the inbox, one
    locks the aggregate positions. Returns the events read for the first time, their
    outcomes (applied, stale, or ignored when ``decode`` gives None) and the applied ones
    in stream order with what ``decode`` made of them."""
    seen = {
        r[0]
        for r in await conn.fetch(
            "SELECT event_id FROM inbox WHERE event_id = ANY($1::varchar[])", [e.id for e in events]
        )
    }
    fresh = list({e.id: e for e in events if e.id not in seen}.values())
    positions = dict(
        await conn.fetch(
            "SELECT aggregate_key, sequence FROM aggregate_positions WHERE consumer = $1 "
            "AND aggregate_key = ANY($2::varchar[]) ORDER BY aggregate_key FOR UPDATE",
            consumer,
            list({e.aggregate_key for e in fresh}),
        )
    )
    outcomes: list[str] = []
    applied: list[tuple[Envelope, Decoded]] = []
    for event in fresh:
        decoded = decode(event)
        if decoded is None:
            outcomes.append("ignored")
        elif event.sequence <= positions.get(event.aggregate_key, 0):
            outcomes.append("stale")
        else:
            outcomes.append("applied")
            positions[event.aggregate_key] = event.sequence
            applied.append((event, decoded))
    return fresh, outcomes, applied


async def write_inbox_and_positions(
    conn: asyncpg.Connection,
    consumer: str,
    fresh: list[Envelope],
    outcomes: list[str],
    applied: list[tuple[Envelope, Any]],
) -> None:
    """The inbox rows of the batch's new events and the positions its applied events
    advanced: one statement each (what :func:`sort_batch` decided)."""
    await conn.execute(
        "INSERT INTO inbox (event_id, consumer, event_type, outcome) "
        "SELECT id, $1, type, outcome FROM unnest($2::varchar[], $3::varchar[], $4::varchar[]) "
        "AS fresh (id, type, outcome)",
        consumer,
        [e.id for e in fresh],
        [e.type for e in fresh],
        outcomes,
    )
    advanced = {e.aggregate_key: e.sequence for e, _ in applied}  # the last one wins
    await conn.execute(
        "INSERT INTO aggregate_positions (consumer, aggregate_key, sequence) "
        "SELECT $1, key, sequence FROM unnest($2::varchar[], $3::bigint[]) AS moved (key, sequence) "
        "ORDER BY key ON CONFLICT (consumer, aggregate_key) "
        "DO UPDATE SET sequence = excluded.sequence, updated_at = now()",
        consumer,
        list(advanced),
        list(advanced.values()),
    )


async def baseline_of(
    service: str,
    nats_url: str,
    dsn: str,
    subscription: Subscription,
    tables: list[str],
    write: WriteBatch,
    check: Callable[[str], Awaitable[Any]],
) -> BaselineRun:
    """The raw baseline of the events ``subscription`` reads into ``service``'s database
    (``consumer_baseline.raw_baseline``); printed."""
    run = await raw_baseline(
        nats_url,
        dsn,
        stream=subscription.stream,
        filter_subject=subscription.filter_subject,
        tables=tables,
        write=write,
        check=check,
    )
    print(
        f"  {service} raw baseline (fetch 1,000, parse, set-wise rows) {run.rate:,.0f} "
        f"events/s   ({run.events:,} events in {run.seconds:.1f} s)"
    )
    return run


@dataclass(frozen=True)
class ConsumerRun:
    baseline: BaselineRun
    drain: Drain
    #: Whether the baseline's rows equal the service's (what ``state`` read of each).
    equal: bool


async def measure_consumer(
    service: ServiceInfo,
    postgres: PostgresServer,
    nats_url: str,
    env: dict[str, str],
    *,
    subscription: Subscription,
    tables: list[str],
    write: WriteBatch,
    state: Callable[[str, str], Awaitable[Any]],
) -> ConsumerRun:
    """One service's consumer of ``subscription``, from scratch: its database created anew
    and migrated, its durable consumer deleted (it reads the stream from the start); the raw
    baseline (``write`` into copies of ``tables``), then the service's process until it has
    drained the stream (whose own stream is purged then). ``state(dsn, schema)`` reads the rows to compare (the service's in
    ``public``, the baseline's in its scratch schema). ``env`` must name the database
    (``<SERVICE>_DATABASE_URL``, the URL ``postgres.url(service.name)``)."""
    name = service.name
    postgres.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    postgres.ensure_database(name)
    url = postgres.url(name)
    await migrate(service, url)
    dsn = asyncpg_dsn(url)
    async with Backlog(nats_url, subscription) as backlog:
        await backlog.forget()
        baseline = await baseline_of(
            name, nats_url, dsn, subscription, tables, write, lambda schema: state(dsn, schema)
        )
        ((process, _),) = serve(service.app_factory, env, name=name)
        try:
            drain = await drain_rate(f"{name} drained", dsn, backlog, process)
        finally:
            stop_process(process, 15, 10)
            # What the service published meanwhile is the benchmark's doing: no other
            # consumer (nor a later run on a kept system) is to read it.
            await backlog.purge(service_stream(name).name)
    equal = await state(dsn, "public") == baseline.checked
    print(
        f"  {name} {subscription.durable} consumer   {drain.rate:10,.0f} events/s   "
        f"({drain.events:,} events in {drain.seconds:.1f} s; backlog {drain.backlog:,}); "
        f"its rows equal the raw baseline's: {'yes' if equal else 'no'}"
    )
    return ConsumerRun(baseline=baseline, drain=drain, equal=equal)


def print_rates(groups: dict[str, dict[str, float | None]]) -> None:
    """Every consumer's events/s of a run, by service; the first rate of each service is
    its raw baseline, which the others are divided by."""
    print(
        "\n  event rates, each as a ratio to its service's raw baseline in this run (goal ≥ 0.25)"
    )
    for service, rates in groups.items():
        (base_label, baseline), *others = rates.items()
        for label, rate in ((base_label, baseline), *others):
            name = f"{service} {label}"
            if rate is None:
                print(f"  {name:38} not measured in this run")
            elif label == base_label or baseline is None:
                print(f"  {name:38} {rate:10,.0f} events/s")
            else:
                print(f"  {name:38} {rate:10,.0f} events/s   {rate / baseline:5.2f} × baseline")
