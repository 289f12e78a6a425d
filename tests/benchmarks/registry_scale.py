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
import csv
import datetime as dt
import io
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from cryptography.fernet import Fernet

from contracts.resident_id import compose
from devstack.project import load_services
from devstack.provisioning import migrate
from devstack.servers import PostgresServer, free_port, stop_process, wait_for_port
from kit.auth import Principal, create_key_pair, issue_token
from kit.db import asyncpg_dsn, create_engine, create_sessionmaker
from registry.config import RegistrySettings
from registry.demo.generator import generate_county
from registry.imports.columns import COLUMNS
from registry.imports.service import ImportService
from registry.pii import IdNumberVault

COUNTY = "622924000000"
HEADERS = [c.header for c in COLUMNS]
SURNAMES = "马王李张刘陈杨赵黄周吴徐孙胡朱高林何郭罗"
GIVEN = "建国秀英小龙小红明华志强丽娟文军海燕玉兰金花永福"
RELATIONS = ("户主", "配偶", "子女", "父母")
CAUSES = ("因病", "因残", "因学", "缺资金", "缺技术", "缺劳力")


def write_file(path: Path, persons: int, villages: list[str], seed: int = 7) -> list[str]:
    """The spreadsheet (CSV); returns a sample of its ID numbers for the lookups."""
    rng = random.Random(seed)
    base = dt.date(1950, 1, 1)
    sample: list[str] = []
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for i in range(persons):
            no, position = divmod(i, 4)
            village = villages[no % len(villages)]
            # 500 sequence numbers a day: unique numbers, births spread over ~55 years
            number = compose("622924", base + dt.timedelta(days=i // 500), (i % 500) * 2 + 1)
            if rng.random() < 0.001:
                sample.append(number)
            row = dict.fromkeys(HEADERS, "")
            row.update(
                {
                    "村代码": village,
                    "户编号": f"{no:07d}",
                    "与户主关系": RELATIONS[position],
                    "姓名": rng.choice(SURNAMES) + rng.choice(GIVEN),
                    "身份证号": number,
                    "劳动能力": rng.choice(("有劳动能力", "弱劳动能力", "无劳动能力")),
                }
            )
            if position == 0:
                causes = rng.sample(CAUSES, 2)
                row.update(
                    {
                        "村民小组": str(rng.randint(1, 8)),
                        "贫困状态": "建档立卡",
                        "致贫原因": "、".join(causes),
                        "主要致贫原因": causes[0],
                        "识别年度": str(rng.randint(2014, 2020)),
                        "调查年度": "2025",
                        "人均纯收入": f"{rng.randint(1500, 6000)}.{rng.randint(0, 99):02d}",
                    }
                )
            writer.writerow([row[h] for h in HEADERS])
    return sample


async def seed_regions(dsn: str) -> list[str]:
    county = generate_county(households=0)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            "INSERT INTO regions (code, name, level, parent_code) VALUES ($1, $2, $3, $4)",
            [(r.code, r.name, r.level.value, r.parent_code) for r in county.regions],
        )
    finally:
        await conn.close()
    return [r.code for r in county.regions if r.level.value == "village"]


async def import_rate(settings: RegistrySettings, path: Path, persons: int, workers: int) -> float:
    engine = create_engine(settings.database_url)
    service = ImportService(IdNumberVault.from_settings(settings), workers=workers)
    actor = Principal("benchmark", frozenset({"registry:write"}), COUNTY)
    shown = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - shown[0] > 10:
            shown[0] = time.monotonic()
            print(f"    … {done:,}/{total:,} persons", flush=True)

    try:
        started = time.perf_counter()
        report = await service.run(
            create_sessionmaker(engine), path.read_bytes(), path.name, actor, progress=progress
        )
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    assert report.persons_imported == persons and not report.errors, report.errors[:5]
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
    print(f"  import took {seconds:.1f} s: {phases}")
    return persons / seconds


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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[int(fraction * (len(ordered) - 1))]


async def latencies(
    bases: list[str],
    token: str,
    villages: list[str],
    numbers: list[str],
    clients: int,
    requests: int,
) -> dict[str, list[float]]:
    """Closed loop: each client sends its next request as soon as the last one answered,
    to the replicas in turn (what a load balancer in front of them does, request by request).
    The load generator is aiohttp: it shares the machine's cores with the servers, and httpx
    spent five times its CPU per request."""
    headers = {"Authorization": f"Bearer {token}"}
    results: dict[str, list[float]] = {"list": [], "lookup": []}
    rng = random.Random(11)
    turn = itertools.count()

    async def timed(client: aiohttp.ClientSession, name: str, method: str, path: str, **kwargs):
        started = time.perf_counter()
        url = bases[next(turn) % len(bases)] + path
        async with client.request(method, url, **kwargs) as response:
            body = await response.read()
        results[name].append((time.perf_counter() - started) * 1000)
        assert response.status == 200, body

    async def client_loop() -> None:
        async with aiohttp.ClientSession(headers=headers) as client:
            for _ in range(requests):
                page = {"region": rng.choice(villages), "page": rng.randint(1, 20), "size": 20}
                await timed(client, "list", "GET", "/households", params=page)
                lookup = {"id_number": rng.choice(numbers)}
                await timed(client, "lookup", "POST", "/persons/lookup", json=lookup)

    await asyncio.gather(*(client_loop() for _ in range(clients)))
    return results


def cpu_seconds(pids: list[int] | None = None) -> float:
    """CPU time of these processes (None: of the whole machine), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    if pids is None:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return (sum(fields) - fields[3] - fields[4]) / tick  # all but idle and iowait
    total = 0
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(stat[11]) + int(stat[12])  # utime, stime
    return total / tick


def serve(service, env: dict[str, str], replicas: int) -> list[tuple[subprocess.Popen, str]]:
    """``replicas`` registry processes, each as ``devstack serve`` runs it: one uvicorn
    process (a deployment scales by replicas behind a balancer, not by workers)."""
    servers = []
    for _ in range(replicas):
        port = free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                service.app_factory,
                "--factory",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
        )
        servers.append((process, f"http://127.0.0.1:{port}"))
        wait_for_port(port, process, "registry")
    return servers


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
    servers = serve(service, env, args.replicas)
    try:
        token = issue_token(private.read_bytes(), role="county_admin", region=COUNTY)
        bases = [base for _, base in servers]
        villages, numbers = state["villages"], state["numbers"]
        # Warm up as many connections as the clients will hold, and the caches: a running
        # server is measured, not one starting.
        await latencies(bases, token, villages, numbers[:50], args.clients, requests=20)
        pids = [process.pid for process, _ in servers]
        before = (time.process_time(), cpu_seconds(pids), cpu_seconds(), time.perf_counter())
        results = await latencies(bases, token, villages, numbers, args.clients, args.requests)
        after = (time.process_time(), cpu_seconds(pids), cpu_seconds(), time.perf_counter())
    finally:
        for process, _ in servers:
            stop_process(process, 15, 10)
    count = sum(len(v) for v in results.values())
    client, server, machine, seconds = (b - a for a, b in zip(before, after, strict=True))
    print(
        f"  {args.clients} concurrent clients, {args.requests} requests each per endpoint, "
        f"{args.replicas} registry processes, {os.cpu_count()} CPUs: {count / seconds:,.0f} "
        "requests/s"
    )
    print(
        f"  CPU per request: load generator {client * 1000 / count:.2f} ms, registry "
        f"{server * 1000 / count:.2f} ms, PostgreSQL and the rest "
        f"{(machine - client - server) * 1000 / count:.2f} ms"
    )
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
