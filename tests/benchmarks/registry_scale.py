"""Benchmark of the registry at county scale: bulk import rate and read latency.

    make bench-registry      (or: .venv/bin/python tests/benchmarks/registry_scale.py --persons 1000000)

Starts its own PostgreSQL (the wheel `make run` uses), generates a spreadsheet of
``--persons`` persons (4 per household) over the demo county's villages, then measures

(a) the import rate (persons/s) through the real import path (parse, validate, hash and
    encrypt ID numbers, build events and audit entries, COPY per chunk), and
(b) two raw COPYs in the same run, and the ratio of (a) to each:
    - the rows the import wrote (households, members, workflow steps, outbox, audit log),
      copied again into empty tables built like the real ones (same columns, defaults,
      indexes, checks and foreign keys): what storing exactly these rows costs PostgreSQL;
    - the spreadsheet itself into one text table without indexes: the floor of any load;

then serves the registry (``--replicas`` uvicorn processes, requests balanced across them
one by one) and measures p50/p95 of a village household list page and of an ID-number
lookup at ``--clients`` concurrent clients, with the CPU each request cost the load
generator, the registry and PostgreSQL. ``--keep DIR`` keeps the loaded county, so that a
later run measures the reads again without importing.
Machines here are shared and noisy: compare ratios within a run, not absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
from common import (
    COUNTY,
    HEADERS,
    CpuMeter,
    import_rate,
    latencies,
    percentile,
    seed_regions,
    serve,
    write_file,
)
from cryptography.fernet import Fernet

from devstack.project import load_services, role_token
from devstack.provisioning import migrate
from devstack.servers import PostgresServer, free_port, stop_process
from kit.auth import create_key_pair
from kit.db import asyncpg_dsn
from registry.config import RegistrySettings


async def copy_rate(dsn: str, path: Path, persons: int) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        columns = ", ".join(f'"{h}" text' for h in HEADERS)
        await conn.execute(f"CREATE TABLE scratch_import ({columns})")
        started = time.perf_counter()
        await conn.copy_to_table(
            "scratch_import", source=path, format="csv", header=True, encoding="utf8"
        )
        seconds = time.perf_counter() - started
        await conn.execute("DROP TABLE scratch_import")
    finally:
        await conn.close()
    return persons / seconds


IMPORTED_TABLES = ("households", "members", "workflow_steps", "outbox", "audit_log")


async def copy_rows_rate(dsn: str, persons: int) -> float:
    """COPY the rows the import wrote into empty look-alike tables (binary, timed): the same
    columns, defaults, indexes and checks (``LIKE … INCLUDING ALL``) and the same foreign
    keys (which LIKE leaves out), pointing at the same parent rows."""
    conn = await asyncpg.connect(dsn)
    try:
        dumps = {}
        for table in IMPORTED_TABLES:
            buffer = io.BytesIO()
            await conn.copy_from_table(table, output=buffer, format="binary")
            dumps[table] = buffer.getvalue()
            await conn.execute(f"CREATE TABLE copy_{table} (LIKE {table} INCLUDING ALL)")
            foreign_keys = await conn.fetch(
                "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
                "WHERE conrelid = $1::regclass AND contype = 'f'",
                table,
            )
            for key in foreign_keys:
                await conn.execute(
                    f"ALTER TABLE copy_{table} ADD CONSTRAINT copy_{key['conname']} "
                    f"{key['definition']}"
                )
        started = time.perf_counter()
        async with conn.transaction():
            for table, data in dumps.items():
                await conn.copy_to_table(f"copy_{table}", source=io.BytesIO(data), format="binary")
        seconds = time.perf_counter() - started
        for table in IMPORTED_TABLES:
            await conn.execute(f"DROP TABLE copy_{table}")
    finally:
        await conn.close()
    return persons / seconds


async def measure_reads(service, state: dict[str, Any], root: Path, args) -> None:
    private, public = create_key_pair(root / "keys")
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": state["url"],
        "REGISTRY_PII_HASH_KEY": state["keys"]["hash"],
        "REGISTRY_PII_ENCRYPTION_KEY": state["keys"]["cipher"],
        "AUTH_PUBLIC_KEY_FILE": str(public),
        "NATS_URL": f"nats://127.0.0.1:{free_port()}",  # none: reads need no bus
        "LOG_LEVEL": "WARNING",
    }
    servers = serve(service.app_factory, env, args.replicas, name="registry")
    try:
        token = role_token(private.read_bytes(), role="county_admin", region=COUNTY)
        headers = {"Authorization": f"Bearer {token}"}
        bases = [base for _, base in servers]
        villages, numbers = state["villages"], state["numbers"]

        def steps(rng, numbers=numbers):
            page = {"region": rng.choice(villages), "page": rng.randint(1, 20), "size": 20}
            yield "list", "GET", "/households", {"params": page}
            yield "lookup", "POST", "/persons/lookup", {"json": {"id_number": rng.choice(numbers)}}

        # Warm up as many connections as the clients will hold, and the caches: a running
        # server is measured, not one starting.
        await latencies(
            bases, headers, args.clients, lambda rng: steps(rng, numbers[:50]), rounds=20
        )
        meter = CpuMeter([process.pid for process, _ in servers], args.postgres_pid)
        meter.start()
        results = await latencies(bases, headers, args.clients, steps, rounds=args.requests)
        meter.stop()
    finally:
        for process, _ in servers:
            stop_process(process, 15, 10)
    count = sum(len(v) for v in results.values())
    print(
        f"  {args.clients} concurrent clients, {args.requests} requests each per endpoint, "
        f"{args.replicas} registry processes, {os.cpu_count()} CPUs: "
        f"{count / meter.seconds:,.0f} requests/s"
    )
    print("  " + meter.per_request(count, "registry"))
    for name, label in (
        ("list", "GET /households?region=<村>&page"),
        ("lookup", "POST /persons/lookup"),
    ):
        values = results[name]
        print(
            f"  {label:34} p50 {statistics.median(values):6.1f} ms   "
            f"p95 {percentile(values, 0.95):6.1f} ms   (goal p95 ≤ 50 ms)"
        )


async def load_county(service, postgres: PostgresServer, root: Path, args) -> dict[str, Any]:
    """Generate the file, import it, compare with raw COPYs; returns what the reads need."""
    postgres.ensure_database("registry")
    url = postgres.url("registry")
    await migrate(service, url)
    dsn = asyncpg_dsn(url)
    villages = await seed_regions(dsn)
    keys = {k: Fernet.generate_key().decode() for k in ("hash", "cipher")}
    settings = RegistrySettings(
        database_url=url, pii_hash_key=keys["hash"], pii_encryption_key=keys["cipher"]
    )
    path = root / "county.csv"
    started = time.perf_counter()
    numbers = write_file(path, args.persons, villages)
    print(
        f"  generated {path.stat().st_size / 1e6:.0f} MB CSV in "
        f"{time.perf_counter() - started:.0f} s"
    )
    imported = await import_rate(settings, path, args.persons, args.workers)
    rows = await copy_rows_rate(dsn, args.persons)
    copied = await copy_rate(dsn, path, args.persons)
    path.unlink()
    # What autovacuum would do after a bulk load, before reads are measured.
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    print(
        f"  import (validate + COPY)       {imported:10,.0f} persons/s   ({args.workers} workers)"
    )
    print(f"  raw COPY, the rows written     {rows:10,.0f} persons/s")
    print(f"  raw COPY, the file as text     {copied:10,.0f} persons/s")
    print(f"  ratio import / rows written    {imported / rows:10.3f}   (goal ≥ 0.25)")
    print(f"  ratio import / file as text    {imported / copied:10.3f}\n")
    return {"url": url, "keys": keys, "villages": villages, "numbers": numbers}


async def main(args: argparse.Namespace) -> None:
    service = next(s for s in load_services() if s.name == "registry")
    with contextlib.ExitStack() as cleanup:
        root = args.keep or Path(cleanup.enter_context(tempfile.TemporaryDirectory()))
        root.mkdir(parents=True, exist_ok=True)
        saved = root / "county.json"
        reuse = saved.exists() and json.loads(saved.read_text())["persons"] == args.persons
        postgres = PostgresServer(root / "pg", free_port(), durable=False)
        postgres.start()
        args.postgres_pid = postgres.process.pid
        try:
            print(f"registry scale benchmark: {args.persons:,} persons, 4 per household\n")
            if reuse:
                state = json.loads(saved.read_text())
                state["url"] = postgres.url("registry")  # a new port each run
                print(f"  the county loaded in {root} before: reads only\n")
            else:
                state = await load_county(service, postgres, root, args)
                saved.write_text(json.dumps({**state, "persons": args.persons}))
            await measure_reads(service, state, root, args)
        finally:
            postgres.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="import preparing processes"
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="registry server processes (on two cores, PostgreSQL and the load generator "
        "take most of one: one process gets the other)",
    )
    parser.add_argument("--requests", type=int, default=100, help="per client and endpoint")
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the loaded county in this folder; a later run with the same --persons "
        "measures only the reads",
    )
    asyncio.run(main(parser.parse_args()))
