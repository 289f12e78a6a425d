"""Benchmark of the gateway at county scale, and of health's persons projection: event
rates against their raw baselines, status reads, commit-to-projection latency (idle and
under a backlog) and rebuild time.

    make bench-gateway       (or: .venv/bin/python tests/benchmarks/gateway_scale.py --households 100000)

Starts its own PostgreSQL and NATS (the wheels `make run` uses), migrates the registry and
the gateway, imports ``--households`` households (4 persons each) into the registry through
its real import path, then serves a registry process (whose outbox relay publishes the
import's events to NATS) and a gateway process (whose consumer projects them), and measures

(1) the relay's rate, then, before the gateway starts, the raw baseline
    (consumer_baseline.py): the same registry events fetched a thousand at a time, parsed,
    and the rows the gateway's consumer writes for them (household rows, region counters,
    inbox, aggregate positions, the public feed's outbox rows) written set-wise into
    look-alike tables, one transaction a batch; then the gateway's live rate while it
    drains the import's events (consumer_bench.drain_rate: its inbox rows over the time
    they took, from the first committed batch on);
(2) commit → projection while that backlog drains: registry writes (PATCH
    /households/{id}) one at a time, every 0.1–0.3 s, each to a household the gateway has
    already projected, until the backlog is drained or ``--writes`` were measured; for each,
    from the moment the API answered (its transaction committed) until the gateway's
    projection transaction that applied the event committed, with the backlog JetStream
    still held for the gateway's consumer when the write was sent. The moment is taken by
    LISTEN: a trigger the benchmark adds to the gateway's ``household_status`` sends NOTIFY
    with the event's id when ``registry_event_id`` changes, delivered at that commit. It
    includes the relay's wake-up (LISTEN/NOTIFY), its publish to JetStream, the gateway
    consumer's pull, the projection transaction and the NOTIFY back to the benchmark;
(3) ``GET /households/{id}/status`` at ``--clients`` concurrent keep-alive clients (random
    households, county_admin token) for ``--seconds``, once the gateway holds every
    household in memory (the warm-up is timed), and in the same run the same load against
    a gateway with the cache off (``GATEWAY_STATUS_CACHE_SIZE=0``: the full way a miss
    takes) and against a bare Starlette app on the same uvicorn settings answering a fixed
    document of the same bytes (bare_app.py): requests/s, p50, p99, the ratio to bare and
    the CPU per request of the load generator, the server and PostgreSQL;
(4) commit → projection on the idle system: ``--writes`` registry writes, measured as in (2);
(5) a rebuild (``gateway.rebuild.rebuild``) of the loaded projections: time, events/s and
    whether households, region counters and every household row equal those before it;
(6) health's persons projection (``libs/persons``), on a database of its own made anew,
    with the gateway stopped: its raw baseline (the same events' persons, inbox and
    position rows, set-wise), then a health process draining every registry event of the
    run, and whether both left the same rows (consumer_bench.measure_consumer);
(7) a summary of the event rates, each as a ratio to its own raw baseline of the same run.

``--keep DIR`` keeps the loaded system (PostgreSQL, NATS streams, keys), so that a later run
with the same ``--households`` measures (3)–(6) again without loading (``--phases`` picks
which). Machines here are shared and noisy: compare the ratios within a run, not absolute
numbers across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from common import (
    COUNTY,
    PERSONS_PER_HOUSEHOLD,
    CpuMeter,
    import_rate,
    latencies,
    percentile,
    seed_regions,
    serve,
    write_file,
)
from consumer_baseline import BaselineRun
from consumer_bench import (
    PROGRESS_SECONDS,
    STALL_SECONDS,
    Backlog,
    baseline_of,
    count,
    drain_rate,
    fetchval,
    measure_consumer,
    print_rates,
    sort_batch,
    write_inbox_and_positions,
)
from cryptography.fernet import Fernet

from contracts.events import CATALOGUE
from contracts.events import registry as registry_events
from contracts.public import public_subject
from devstack.project import ServiceInfo, load_services, role_token
from devstack.provisioning import migrate, provision_streams
from devstack.servers import NatsServer, PostgresServer, free_port, stop_process
from gateway.config import GatewaySettings
from gateway.consumers import PROJECTIONS
from gateway.models import household_table
from gateway.projection.household import new_row
from gateway.projection.registry import apply_snapshot
from gateway.projection.statistics import household_contribution, regions_of
from gateway.public_feed import public_event
from gateway.rebuild import rebuild
from health.records import registry_persons
from kit.auth import create_key_pair
from kit.db import asyncpg_dsn
from kit.envelope import Envelope
from persons.read_model import person_row
from registry.config import RegistrySettings

HERE = Path(__file__).resolve().parent
STATUS = "/households/{}/status"

#: Installed on the gateway's database for (3) and removed after it: NOTIFY at the commit
#: of the projection transaction that changed a household's registry basics, naming the
#: event applied (rows the projection inserts are not reported: the writes measured change
#: households it has projected).
TRIGGER = """
CREATE OR REPLACE FUNCTION bench_projected() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bench_projected', NEW.registry_event_id::text);
    RETURN NEW;
END $$;
CREATE TRIGGER bench_projected AFTER UPDATE OF registry_event_id ON household_status
    FOR EACH ROW WHEN (OLD.registry_event_id IS DISTINCT FROM NEW.registry_event_id)
    EXECUTE FUNCTION bench_projected();
"""
DROP_TRIGGER = """
DROP TRIGGER IF EXISTS bench_projected ON household_status;
DROP FUNCTION IF EXISTS bench_projected();
"""


#: The gateway's consumer of the registry's events: its durable name, stream and subjects.
REGISTRY_SUBSCRIPTION = next(d for d in PROJECTIONS if d.source_service == "registry").subscription(
    "gateway"
)
#: The tables the gateway's registry consumer writes for a household event.
BASELINE_TABLES = ["household_status", "region_counters", "inbox", "aggregate_positions", "outbox"]
HOUSEHOLD_COLUMNS = ", ".join(c.name for c in household_table.columns if c.name != "updated_at")
SNAPSHOT_TYPES = {spec.type for spec in registry_events.SNAPSHOT_EVENTS}
MEMBER_TYPES = {spec.type for spec in registry_events.MEMBER_EVENTS}


def household_snapshot(event: Envelope) -> registry_events.HouseholdSnapshot | None:
    """The household an event carries whole (what the benchmark's events are), or None."""
    if event.type in SNAPSHOT_TYPES:
        return registry_events.HouseholdSnapshot.model_validate(event.data)
    if event.type in MEMBER_TYPES:
        return registry_events.MemberEvent.model_validate(event.data).household
    return None


async def write_household_rows(conn: asyncpg.Connection, events: list[Envelope]) -> None:
    """The baseline's writer: the final rows the gateway's registry consumer leaves for a
    batch of household events, with one query to check the inbox, one to lock the
    positions, one to lock the rows, and one statement per table to write them."""
    consumer = REGISTRY_SUBSCRIPTION.durable
    fresh, outcomes, applied = await sort_batch(conn, consumer, events, household_snapshot)
    ids = list({snapshot.household_id for _, snapshot in applied})
    before = {
        r["household_id"]: dict(r)
        for r in await conn.fetch(
            f"SELECT {HOUSEHOLD_COLUMNS} FROM household_status "
            "WHERE household_id = ANY($1::uuid[]) ORDER BY household_id FOR UPDATE",
            ids,
        )
    }
    rows = {hid: dict(row) for hid, row in before.items()}
    for event, snapshot in applied:
        row = rows.setdefault(
            snapshot.household_id, new_row(snapshot.household_id, snapshot.region_code)
        )
        apply_snapshot(row, event, snapshot)
    counters: collections.Counter[tuple[str, str]] = collections.Counter()
    for hid, row in rows.items():
        old = before.get(hid)
        for sign, state in ((-1, old), (1, row)):
            if state is not None:
                contribution = household_contribution(state).items()
                for code in regions_of(state["region_code"]):
                    for metric, value in contribution:
                        counters[(code, metric)] += sign * value
    moved = sorted((code, metric, value) for (code, metric), value in counters.items() if value)

    await write_inbox_and_positions(conn, consumer, fresh, outcomes, applied)
    await conn.execute(
        f"INSERT INTO household_status ({HOUSEHOLD_COLUMNS}) "
        f"SELECT {HOUSEHOLD_COLUMNS} FROM jsonb_populate_recordset(NULL::household_status, $1) "
        "ON CONFLICT (household_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in HOUSEHOLD_COLUMNS.split(", ")[1:])
        + ", updated_at = now()",
        list(rows.values()),
    )
    if moved:
        codes, metrics, values = (list(column) for column in zip(*moved, strict=True))
        await conn.execute(
            "INSERT INTO region_counters (region_code, metric, value) "
            "SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::bigint[]) "
            "ON CONFLICT (region_code, metric) "
            "DO UPDATE SET value = region_counters.value + excluded.value, updated_at = now()",
            codes,
            metrics,
            values,
        )
    # The public feed's copy of every event read for the first time (gateway.public_feed).
    public = [(e, CATALOGUE.by_type(e.type)) for e in fresh]
    public = [(e, spec) for e, spec in public if spec is not None]
    await conn.execute(
        "INSERT INTO outbox (id, subject, event_type, aggregate_id, envelope) "
        "SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::varchar[], $5::jsonb[]) "
        "ON CONFLICT (id) DO NOTHING",
        [uuid.UUID(e.id) for e, _ in public],
        [public_subject(e.region, spec.name) for e, spec in public],
        [e.type for e, _ in public],
        [e.subject for e, _ in public],
        [public_event(e) for e, _ in public],
    )


#: Health's consumer of the registry's events (its persons table, ``libs/persons``).
HEALTH_SUBSCRIPTION = registry_persons.registry_consumer(
    lambda session, persons: None
).subscription("health")
#: The tables health's registry consumer writes for a household event (what it derives
#: from the persons, such as medical assessments, is not in the baseline).
HEALTH_TABLES = ["persons", "inbox", "aggregate_positions"]
PERSON_COLUMNS = [c.name for c in registry_persons.table.columns if c.name != "updated_at"]


def person_rows(household: registry_events.HouseholdSnapshot) -> list[dict[str, Any]]:
    """The persons rows health's consumer stores for a household's members (each in it)."""
    return [{**person_row(household, m), "in_household": True} for m in household.members]


async def write_person_rows(conn: asyncpg.Connection, events: list[Envelope]) -> None:
    """The baseline's writer for health: the persons rows, inbox and positions its
    registry consumer leaves for a batch, one statement per table."""
    consumer = HEALTH_SUBSCRIPTION.durable
    fresh, outcomes, applied = await sort_batch(conn, consumer, events, household_snapshot)
    rows: dict[uuid.UUID, dict[str, Any]] = {}
    listed: dict[uuid.UUID, set[uuid.UUID]] = {}
    for _, household in applied:  # in stream order: a household's last snapshot wins
        listed[household.household_id] = {m.member_id for m in household.members}
        rows.update((row["id"], row) for row in person_rows(household))
    columns = ", ".join(PERSON_COLUMNS)
    if rows:
        await conn.execute(
            f"INSERT INTO persons ({columns}) "
            f"SELECT {columns} FROM jsonb_populate_recordset(NULL::persons, $1) "
            "ON CONFLICT (id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in PERSON_COLUMNS if c != "id"),
            list(rows.values()),
        )
    # Members no longer listed leave their household.
    await conn.execute(
        "UPDATE persons SET in_household = false WHERE household_id = ANY($1::uuid[]) "
        "AND in_household AND NOT id = ANY($2::uuid[])",
        list(listed),
        [member for members in listed.values() for member in members],
    )
    await write_inbox_and_positions(conn, consumer, fresh, outcomes, applied)


async def persons_state(dsn: str, schema: str) -> dict[str, Any]:
    """Health's persons (every row, but the time it was written) and its inbox outcomes."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        return {
            "persons": await conn.fetchval("SELECT count(*) FROM persons"),
            "digest": await conn.fetchval(
                "SELECT md5(string_agg((to_jsonb(p) - 'updated_at')::text, '' ORDER BY id)) "
                "FROM persons p"
            ),
            "outcomes": dict(
                await conn.fetch("SELECT outcome, count(*) FROM inbox GROUP BY outcome")
            ),
        }
    finally:
        await conn.close()


async def measure_health(
    services: dict[str, ServiceInfo], postgres: PostgresServer, nats_url: str, env: dict[str, str]
) -> tuple[float, float]:
    """Health's persons projection from scratch and its raw baseline; their events/s."""
    url = postgres.url("health")
    run = await measure_consumer(
        services["health"],
        postgres,
        nats_url,
        {**env, "HEALTH_DATABASE_URL": url},
        subscription=HEALTH_SUBSCRIPTION,
        tables=HEALTH_TABLES,
        write=write_person_rows,
        state=persons_state,
    )
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        assessments = await conn.fetchval("SELECT count(*) FROM medical_assessments")
        events = await conn.fetchval("SELECT count(*) FROM outbox")
    finally:
        await conn.close()
    print(
        f"  (health also assessed the households: {assessments:,} medical assessments and "
        f"{events:,} events of its own, which its baseline does not write)"
    )
    return run.baseline.rate, run.drain.rate


async def wait_for(
    what: str,
    probe: Callable[[], Awaitable[int]],
    target: int,
    timeout: float,
    process: Any = None,
) -> float:
    """Poll ``probe`` every 0.2 s until it reaches ``target``; seconds it took. Fails
    after ``timeout``, or when the value has not moved for STALL_SECONDS."""
    started = moved = shown = time.perf_counter()
    last = None
    while (value := await probe()) < target:
        now = time.perf_counter()
        if value != last:
            last, moved = value, now
        if now - moved > STALL_SECONDS:
            raise TimeoutError(f"{what}: stuck at {value:,}/{target:,} for {STALL_SECONDS:.0f} s")
        if now - started > timeout:
            raise TimeoutError(f"{what}: {value:,}/{target:,} after {timeout:.0f} s")
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the server exited with code {process.returncode}")
        if now - shown > 10:
            shown = now
            print(f"    … {what}: {value:,}/{target:,}", flush=True)
        await asyncio.sleep(0.2)
    return time.perf_counter() - started


async def load_registry(
    services: dict[str, ServiceInfo],
    postgres: PostgresServer,
    nats_url: str,
    root: Path,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Create and migrate both databases and the streams, import the county into the
    registry; returns what later runs need."""
    for name in ("registry", "gateway"):
        postgres.ensure_database(name)
        await migrate(services[name], postgres.url(name))
    await provision_streams(list(services.values()), nats_url)
    url = postgres.url("registry")
    villages = await seed_regions(asyncpg_dsn(url))
    keys = {k: Fernet.generate_key().decode() for k in ("hash", "cipher")}
    settings = RegistrySettings(
        database_url=url, pii_hash_key=keys["hash"], pii_encryption_key=keys["cipher"]
    )
    path = root / "county.csv"
    persons = args.households * PERSONS_PER_HOUSEHOLD
    write_file(path, persons, villages)
    rate = await import_rate(settings, path, persons, args.workers)
    path.unlink()
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("VACUUM ANALYZE")  # what autovacuum would do after a bulk load
    finally:
        await conn.close()
    print(f"  import (validate + COPY)       {rate / PERSONS_PER_HOUSEHOLD:10,.0f} households/s")
    return {"keys": keys, "households": args.households}


async def relay_rate(dsn: str, households: int, process) -> None:
    """Wait until the registry's relay has published the import's events; print its rate."""
    unpublished = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
    await wait_for(
        "relay published",
        lambda: fetchval(dsn, "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL"),
        households,
        timeout=3600,
        process=process,
    )
    assert await fetchval(dsn, unpublished) == 0
    seconds = await fetchval(
        dsn, "SELECT extract(epoch FROM max(published_at) - min(published_at)) FROM outbox"
    )
    events = await fetchval(dsn, "SELECT count(*) FROM outbox")
    print(
        f"  registry relay → NATS          {events / max(float(seconds), 1e-3):10,.0f} events/s"
        f"   ({events:,} events in {float(seconds):.1f} s)"
    )


async def baseline_state(dsn: str, schema: str) -> tuple[dict[str, Any], dict[str, str]]:
    """What the comparison with the gateway needs of the baseline's tables."""
    return await projection_state(dsn, schema), await household_rows(dsn, schema)


async def household_rows(dsn: str, schema: str = "public") -> dict[str, str]:
    """Each household row's digest (all but the time it was written), by household."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        return dict(
            await conn.fetch(
                "SELECT household_id::text, md5((to_jsonb(h) - 'updated_at')::text) "
                "FROM household_status h"
            )
        )
    finally:
        await conn.close()


async def compare_with_baseline(dsn: str, baseline: BaselineRun, written: set[str]) -> None:
    """The baseline wrote what the gateway wrote (else its rate would mean nothing); the
    households written since (commit → projection under backlog) are compared by count."""
    state, rows = baseline.checked
    projected, projected_rows = await projection_state(dsn), await household_rows(dsn)
    checks = {
        "households": projected["households"] == state["households"],
        "counters": projected["counters"] == state["counters"],
        "household rows": projected_rows.keys() == rows.keys()
        and all(rows[k] == v for k, v in projected_rows.items() if k not in written),
    }
    print(
        f"  raw baseline's rows equal the gateway's: {'yes' if all(checks.values()) else 'no'}"
        "   ("
        + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in checks.items())
        + (f"; {len(written)} written since not compared" if written else "")
        + ")"
    )


async def status_load(
    label: str, servers, headers: dict[str, str], ids: list[str], args
) -> dict[str, Any]:
    bases = [base for _, base in servers]

    def steps(rng: random.Random):
        yield "status", "GET", STATUS.format(rng.choice(ids)), {}

    # Warm up as many connections as the clients will hold: a running server is measured.
    await latencies(bases, headers, args.clients, steps, seconds=2, seed=3)
    meter = CpuMeter([process.pid for process, _ in servers], args.postgres_pid)
    meter.start()
    values = (await latencies(bases, headers, args.clients, steps, seconds=args.seconds))["status"]
    meter.stop()
    result = {
        "rate": len(values) / meter.seconds,
        "p50": statistics.median(values),
        "p99": percentile(values, 0.99),
    }
    print(
        f"  {label:8} {result['rate']:8,.0f} requests/s   p50 {result['p50']:6.1f} ms   "
        f"p99 {result['p99']:6.1f} ms   ({len(values):,} requests)"
    )
    print(f"           {meter.per_request(len(values), label)}")
    print(f"           resident memory {resident_mib(servers[0][0].pid):,.0f} MiB")
    return result


async def cache_warm(base: str, households: int, process, written: set[str]) -> None:
    """Wait until the gateway holds every household's status in memory (it warms itself
    in the background after it starts listening, and again once a backlog is drained),
    but those ``written`` since the projection caught up, perhaps: a change to a held
    household drops it until a read renders it again."""

    async def held() -> int:
        async with aiohttp.ClientSession() as client, client.get(base + "/metrics") as response:
            text = await response.text()
        for line in text.splitlines():
            if line.startswith("jingzhun_gateway_status_cache_documents "):
                return int(float(line.split()[1]))
        return 0

    target = households - len(written)
    seconds = await wait_for("status cache warm", held, target, 1800, process)
    print(
        f"  status cache warm-up           {target:,} households held in {seconds:.1f} s;"
        f" gateway resident memory {resident_mib(process.pid):,.0f} MiB"
    )


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure_status(
    env, service: ServiceInfo, gateway, token: str, ids: list[str], root: Path, args
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as client,
        client.get(gateway[0][1] + STATUS.format(ids[0])) as response,
    ):
        document = await response.read()
        assert response.status == 200, document
    (root / "status.json").write_bytes(document)
    print(
        f"\n  GET /households/{{id}}/status: {args.clients} concurrent keep-alive clients, "
        f"{args.seconds:.0f} s each, random households of {len(ids):,}, one uvicorn process, "
        f"{os.cpu_count()} CPUs; document {len(document):,} bytes"
    )
    gateway_result = await status_load("gateway", gateway, headers, ids, args)
    # The full way every read took before the cache, and still takes for a miss: a second
    # gateway process (consumers and all) with the cache turned off.
    full = serve(
        service.app_factory, {**env, "GATEWAY_STATUS_CACHE_SIZE": "0"}, name="gateway, no cache"
    )
    try:
        full_result = await status_load("no cache", full, headers, ids, args)
    finally:
        for process, _ in full:
            stop_process(process, 15, 10)
    bare = serve(
        "bare_app:create_app",
        {**env, "BARE_DOCUMENT": str(root / "status.json")},
        name="bare app",
        app_dir=HERE,
    )
    try:
        bare_result = await status_load("bare", bare, headers, ids, args)
    finally:
        for process, _ in bare:
            stop_process(process, 15, 10)
    for label, result in (("gateway", gateway_result), ("no cache", full_result)):
        print(
            f"  ratio {label:8} ÷ bare        {result['rate'] / bare_result['rate']:6.2f}"
            f"   (goal ≥ 0.5)    p99 {result['p99']:.1f} ms (goal ≤ 20 ms)"
        )


@dataclass(frozen=True)
class Sample:
    """One registry write and when the gateway's projection committed it (milliseconds)."""

    after_answer: float
    after_send: float
    #: Events the gateway's consumer had not yet acknowledged when the write was sent.
    backlog: int


class CommitLatency:
    """Registry writes (PATCH /households/{id}), one at a time, each awaited until the
    gateway's projection transaction that applied it committed (LISTEN on TRIGGER, matched
    by the event's id, which the registry's outbox row holds)."""

    def __init__(
        self,
        registry_base: str,
        registry_dsn: str,
        gateway_dsn: str,
        token: str,
        backlog: Backlog,
    ) -> None:
        self.registry_base = registry_base
        self.registry_dsn = registry_dsn
        self.gateway_dsn = gateway_dsn
        self.headers = {"Authorization": f"Bearer {token}"}
        self.backlog = backlog
        #: The gateway's process, once started.
        self.gateway: Any = None
        self.projected: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
        #: The households written so far.
        self.written: set[str] = set()

    async def __aenter__(self) -> CommitLatency:
        self.listener = await asyncpg.connect(self.gateway_dsn)
        await self.listener.execute(TRIGGER)
        await self.listener.add_listener(
            "bench_projected",
            lambda *notification: self.projected.put_nowait((notification[3], time.perf_counter())),
        )
        self.registry = await asyncpg.connect(self.registry_dsn)
        self.client = aiohttp.ClientSession(headers=self.headers)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()
        await self.registry.close()
        await self.listener.execute(DROP_TRIGGER)
        await self.listener.close()

    async def sample(self, household_id: str) -> Sample:
        url = f"{self.registry_base}/households/{household_id}"
        async with self.client.get(url) as response:
            group_no = (await response.json())["group_no"]
        backlog = await self.backlog.left() or 0
        self.written.add(household_id)
        sent = time.perf_counter()
        async with self.client.patch(
            url,
            json={"group_no": group_no % 900 + 1},  # a change, in every run
        ) as response:
            body = await response.read()
        answered = time.perf_counter()
        assert response.status == 200, body
        event_id = await self.registry.fetchval(
            "SELECT id::text FROM outbox WHERE aggregate_id = $1 ORDER BY created_at DESC LIMIT 1",
            household_id,
        )
        at = await self.projection_of(event_id, answered)
        return Sample((at - answered) * 1000, (at - sent) * 1000, backlog)

    async def projection_of(self, event_id: str, since: float) -> float:
        """When the projection of ``event_id`` committed. Waits as long as the gateway's
        consumer has events before it to project (printing progress); fails when the
        gateway exited, or had nothing left to read for 30 s without projecting it."""
        idle_since: float | None = None
        shown = since
        while True:
            # Other households' rows may change (and notify) as a backlog drains: progress
            # is kept by the clock, not by a quiet queue.
            with contextlib.suppress(TimeoutError):
                seen, at = await asyncio.wait_for(self.projected.get(), timeout=1)
                if seen == event_id:
                    return at
            now = time.perf_counter()
            if now - shown < PROGRESS_SECONDS:
                continue
            shown = now
            left = await self.backlog.left()
            if self.gateway.poll() is not None:
                raise RuntimeError(
                    f"commit → projection: the gateway exited with code {self.gateway.returncode}"
                )
            idle_since = (idle_since or now) if left == 0 else None
            if idle_since is not None and now - idle_since > 30:
                raise TimeoutError(
                    f"commit → projection: event {event_id} was not projected, and the "
                    "gateway's consumer has had nothing left to read for 30 s"
                )
            print(
                f"    … waiting {now - since:.0f} s for the projection of one write; "
                f"the gateway's consumer has {count(left)} events left",
                flush=True,
            )


async def latency_idle(probe: CommitLatency, ids: list[str], writes: int) -> list[Sample]:
    """``writes`` random households, each write finding the relay and the consumer idle."""
    rng = random.Random(5)
    samples = []
    for household_id in rng.sample(ids, writes):
        await asyncio.sleep(rng.uniform(0.01, 0.05))
        samples.append(await probe.sample(household_id))
    return samples


async def latency_under_backlog(
    probe: CommitLatency, ids: list[str], writes: int, drain: asyncio.Task
) -> list[Sample]:
    """Writes while the gateway's consumer drains its backlog (the import's events), until
    it has drained it or ``writes`` were measured: each changes a household the gateway has
    already projected (its own import event is not still ahead in the backlog), so the time
    measured is what a live change waits behind the other households' events."""
    rng = random.Random(6)
    samples: list[Sample] = []
    conn = await asyncpg.connect(probe.gateway_dsn)
    try:
        while not drain.done() and len(samples) < writes:
            left = await probe.backlog.left()
            if left == 0:
                break
            household_id = await conn.fetchval(
                "SELECT household_id::text FROM household_status WHERE household_id = ANY($1::uuid[]) "
                "AND registry_event_id IS NOT NULL LIMIT 1",
                [i for i in rng.sample(ids, min(len(ids), 500)) if i not in probe.written],
            )
            if left is None or household_id is None:  # the consumer has not started yet
                await asyncio.sleep(0.2)
                continue
            samples.append(await probe.sample(household_id))
            await asyncio.sleep(rng.uniform(0.1, 0.3))
    finally:
        await conn.close()
    return samples


#: Commit → projection p99 goals (ms, from the registry's answer).
LATENCY_GOALS = {"under a backlog": 2000.0, "idle": 100.0}


def print_latency(title: str, samples: list[Sample], goal: str) -> None:
    print(f"\n  commit → projection, {title}")
    if not samples:
        print("  no sample")
        return
    for label, values in (
        ("API answered → projected", [s.after_answer for s in samples]),
        ("request sent → projected", [s.after_send for s in samples]),
    ):
        print(
            f"  {label:28} p50 {statistics.median(values):7.1f} ms   "
            f"p95 {percentile(values, 0.95):7.1f} ms   p99 {percentile(values, 0.99):7.1f} ms   "
            f"max {max(values):7.1f} ms   ({len(values)} write(s))"
        )
    print(f"  (goal p99 ≤ {LATENCY_GOALS[goal]:,.0f} ms, from the answer: the registry's commit)")
    if any(s.backlog for s in samples):
        # The samples in the order taken, in up to ten groups: the backlog each write
        # found, and how long it took.
        size = -(-len(samples) // 10)
        for start in range(0, len(samples), size):
            group = samples[start : start + size]
            values = [s.after_answer for s in group]
            print(
                f"    backlog left {group[0].backlog:9,} … {group[-1].backlog:9,}: "
                f"{len(group):3} write(s), p50 {statistics.median(values):7.1f} ms, "
                f"max {max(values):7.1f} ms"
            )


async def projection_state(dsn: str, schema: str = "public") -> dict[str, Any]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        return {
            "households": await conn.fetchval(
                "SELECT count(*) FROM household_status WHERE registry_event_id IS NOT NULL"
            ),
            "rows": await conn.fetchval("SELECT count(*) FROM household_status"),
            "counters": {
                (r["region_code"], r["metric"]): r["value"]
                for r in await conn.fetch("SELECT region_code, metric, value FROM region_counters")
            },
            # Every household row, but the time it was written.
            "digest": await conn.fetchval(
                "SELECT md5(string_agg((to_jsonb(h) - 'updated_at')::text, '' "
                "ORDER BY household_id)) FROM household_status h"
            ),
        }
    finally:
        await conn.close()


async def measure_rebuild(settings: GatewaySettings, dsn: str) -> float:
    before = await projection_state(dsn)
    shown = [time.monotonic()]

    def progress(step: str, done: int, total: int) -> None:
        if time.monotonic() - shown[0] > 10:
            shown[0] = time.monotonic()
            print(f"    … {step}: {done:,}/{total:,}", flush=True)

    started = time.perf_counter()
    report = await rebuild(settings, progress)
    seconds = time.perf_counter() - started
    after = await projection_state(dsn)
    assert not report.failed, report.failed[:10]
    print(
        f"\n  rebuild: {report.events:,} events in {seconds:.1f} s = "
        f"{report.events / seconds:,.0f} events/s   "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(report.outcomes.items()))})"
    )
    checks = {
        "households": before["households"] == after["households"],
        "rows": before["rows"] == after["rows"],
        "region counters": before["counters"] == after["counters"],
        "household rows": before["digest"] == after["digest"],
    }
    print(
        f"  {after['households']:,} households (before {before['households']:,}), "
        f"{len(after['counters']):,} region counters (before {len(before['counters']):,})"
    )
    print(
        f"  equal: {'yes' if all(checks.values()) else 'no'}   ("
        + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in checks.items())
        + ")"
    )
    return report.events / seconds


async def main(args: argparse.Namespace) -> None:
    services = {s.name: s for s in load_services()}
    with contextlib.ExitStack() as cleanup:
        root = args.keep or Path(cleanup.enter_context(tempfile.TemporaryDirectory()))
        root = root.resolve()
        root.mkdir(parents=True, exist_ok=True)
        saved = root / "gateway.json"
        reuse = saved.exists() and json.loads(saved.read_text())["households"] == args.households
        if saved.exists() and not reuse:
            raise SystemExit(f"{root} holds another county: give an empty --keep folder")
        postgres = PostgresServer(root / "pg", free_port(), durable=False)
        bus = NatsServer(root / "nats", free_port())
        postgres.start()
        cleanup.callback(postgres.stop)
        args.postgres_pid = postgres.process.pid
        bus.start()
        cleanup.callback(bus.stop)
        print(
            f"gateway scale benchmark: {args.households:,} households, "
            f"{PERSONS_PER_HOUSEHOLD} persons each\n"
        )
        if reuse:
            state = json.loads(saved.read_text())
            print(f"  the system loaded in {root} before: measuring only\n")
            for name in ("registry", "gateway"):  # code newer than the loaded system
                await migrate(services[name], postgres.url(name))
        else:
            state = await load_registry(services, postgres, bus.url, root, args)
        private, public = create_key_pair(root / "keys")
        registry_url, gateway_url = postgres.url("registry"), postgres.url("gateway")
        registry_dsn, gateway_dsn = asyncpg_dsn(registry_url), asyncpg_dsn(gateway_url)
        env = {
            **os.environ,
            "REGISTRY_DATABASE_URL": registry_url,
            "REGISTRY_PII_HASH_KEY": state["keys"]["hash"],
            "REGISTRY_PII_ENCRYPTION_KEY": state["keys"]["cipher"],
            "GATEWAY_DATABASE_URL": gateway_url,
            "AUTH_PUBLIC_KEY_FILE": str(public),
            "NATS_URL": bus.url,
            "LOG_LEVEL": "WARNING",
        }
        servers = []
        latency: dict[str, list[Sample]] = {}
        rates: dict[str, dict[str, float | None]] = {
            "gateway": dict.fromkeys(("raw baseline", "live projection", "rebuild")),
            "health": dict.fromkeys(("raw baseline", "persons projection")),
        }
        try:
            servers += serve(services["registry"].app_factory, env, name="registry")
            if not reuse:
                await relay_rate(registry_dsn, args.households, servers[0][0])
            # Before the gateway starts: the baseline has the machine to itself, as the
            # gateway's consumer will.
            baseline = await baseline_of(
                "gateway",
                bus.url,
                gateway_dsn,
                REGISTRY_SUBSCRIPTION,
                BASELINE_TABLES,
                write_household_rows,
                lambda schema: baseline_state(gateway_dsn, schema),
            )
            rates["gateway"]["raw baseline"] = baseline.rate
            conn = await asyncpg.connect(registry_dsn)
            try:
                ids = [str(r["id"]) for r in await conn.fetch("SELECT id FROM households")]
            finally:
                await conn.close()
            token = role_token(private.read_bytes(), role="county_admin", region=COUNTY)
            async with contextlib.AsyncExitStack() as stack:
                backlog = await stack.enter_async_context(Backlog(bus.url, REGISTRY_SUBSCRIPTION))
                probe = CommitLatency(servers[0][1], registry_dsn, gateway_dsn, token, backlog)
                if "latency" in args.phases:  # its trigger before the gateway starts
                    await stack.enter_async_context(probe)
                gateway = serve(services["gateway"].app_factory, env, name="gateway")
                servers += gateway
                probe.gateway = gateway[0][0]
                if reuse:
                    print("  (loaded before: the gateway's projection is complete)")
                else:
                    rates["gateway"]["live projection"] = await live_projection(
                        gateway_dsn, backlog, gateway[0][0], probe, ids, args, latency
                    )
                saved.write_text(json.dumps(state))
                await cache_warm(
                    gateway[0][1], len(ids), gateway[0][0], probe.written
                )  # a settled system
                await compare_with_baseline(gateway_dsn, baseline, probe.written)
                if "status" in args.phases:
                    await measure_status(env, services["gateway"], gateway, token, ids, root, args)
                if "latency" in args.phases:
                    latency["idle"] = await latency_idle(probe, ids, args.writes)
                    print_latency(
                        f"idle: {args.writes} registry writes (PATCH /households/{{id}}), one "
                        "at a time, each awaited by LISTEN on the gateway's database",
                        latency["idle"],
                        "idle",
                    )
            if "rebuild" in args.phases:
                rates["gateway"]["rebuild"] = await measure_rebuild(
                    GatewaySettings(database_url=gateway_url, nats_url=bus.url), gateway_dsn
                )
            if "health" in args.phases:
                # Health publishes events of its own (medical assessments), which the
                # gateway would project meanwhile, on the cores health is measured on.
                for process, _ in gateway:
                    stop_process(process, 15, 10)
                print("\n  health's persons projection (a health process on a database of its own)")
                (
                    rates["health"]["raw baseline"],
                    rates["health"]["persons projection"],
                ) = await measure_health(services, postgres, bus.url, env)
            print_rates(rates)
            print_latency_summary(latency)
        finally:
            for process, _ in servers:
                stop_process(process, 15, 10)


async def live_projection(
    dsn: str,
    backlog: Backlog,
    gateway: Any,
    probe: CommitLatency,
    ids: list[str],
    args,
    latency: dict[str, list[Sample]],
) -> float:
    """The gateway's consumer draining the import's events, just started: its events/s and,
    while it drains, commit → projection of single writes (into ``latency``). Returns the
    rate."""
    drain = asyncio.create_task(drain_rate("gateway drained", dsn, backlog, gateway))
    samples: list[Sample] = []
    if "latency" in args.phases:
        try:
            samples = await latency_under_backlog(probe, ids, args.writes, drain)
        except BaseException:
            drain.cancel()
            raise
    result = await drain
    projected = await fetchval(
        dsn, "SELECT count(*) FROM household_status WHERE registry_event_id IS NOT NULL"
    )
    assert projected == len(ids), f"the gateway projected {projected:,} of {len(ids):,} households"
    print(
        f"  gateway consumption            {result.rate:10,.0f} events/s"
        f"   ({result.events:,} events in {result.seconds:.1f} s from the first committed; "
        f"backlog {result.backlog:,} events)"
    )
    if "latency" in args.phases:
        latency["under a backlog"] = samples
        print_latency(
            f"while the gateway drains a backlog of {result.backlog:,} events: "
            f"{len(samples)} registry write(s), one at a time, every 0.1–0.3 s until it drained",
            samples,
            "under a backlog",
        )
    return result.rate


def print_latency_summary(latency: dict[str, list[Sample]]) -> None:
    print("\n  commit → projection p99, from the registry's answer")
    for label, goal in LATENCY_GOALS.items():
        samples = latency.get(label)
        if not samples:
            print(f"  {label:38} not measured in this run")
            continue
        p99 = percentile([s.after_answer for s in samples], 0.99)
        backlog = samples[0].backlog
        print(
            f"  {label:38} {p99:10,.1f} ms   (goal ≤ {goal:,.0f} ms; {len(samples)} write(s)"
            + (f", the first finding a backlog of {backlog:,} events)" if backlog else ")")
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=64, help="concurrent status clients")
    parser.add_argument("--seconds", type=float, default=20, help="status load per server")
    parser.add_argument("--writes", type=int, default=200, help="commit → projection samples")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="import preparing processes"
    )
    parser.add_argument(
        "--phases",
        type=lambda value: set(value.split(",")),
        default={"status", "latency", "rebuild", "health"},
        help="what to measure once the system is loaded (default: status,latency,rebuild,health)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the loaded system in this folder; a later run with the same --households "
        "measures without loading",
    )
    asyncio.run(main(parser.parse_args()))
