"""What the benchmarks share: a county spreadsheet and its import through the registry's real
import path, uvicorn processes, a closed-loop aiohttp load generator, percentiles and CPU
accounting from /proc."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import itertools
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from contracts.resident_id import compose
from devstack.servers import free_port, wait_for_port
from kit.auth import Principal
from kit.db import create_engine, create_sessionmaker
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
PERSONS_PER_HOUSEHOLD = len(RELATIONS)


def write_file(path: Path, persons: int, villages: list[str], seed: int = 7) -> list[str]:
    """The spreadsheet (CSV), 4 persons per household; returns a sample of its ID numbers."""
    rng = random.Random(seed)
    base = dt.date(1950, 1, 1)
    sample: list[str] = []
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for i in range(persons):
            no, position = divmod(i, PERSONS_PER_HOUSEHOLD)
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
    """The demo county's region tree in the registry database; returns the village codes."""
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
    """Import the spreadsheet through ImportService (as ``POST /imports`` does); persons/s."""
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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[int(fraction * (len(ordered) - 1))]


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


def children(pid: int) -> list[int]:
    """The process and its direct children (PostgreSQL's postmaster and its backends)."""
    found = [pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


class CpuMeter:
    """CPU spent between ``start()`` and ``stop()`` by this process (the load generator), by
    ``pids`` (the servers), by PostgreSQL (``postgres_pid`` and its backends, if given) and
    by the rest of the machine (other work sharing it)."""

    def __init__(self, pids: list[int], postgres_pid: int | None = None) -> None:
        self.pids = pids
        self.postgres_pid = postgres_pid

    def _postgres(self) -> float:
        if self.postgres_pid is None:
            return 0.0
        total = 0.0
        for pid in children(self.postgres_pid):
            with contextlib.suppress(OSError):  # a backend that just ended
                total += cpu_seconds([pid])
        return total

    def _sample(self) -> tuple[float, ...]:
        return (
            time.process_time(),
            cpu_seconds(self.pids),
            self._postgres(),
            cpu_seconds(),
            time.perf_counter(),
        )

    def start(self) -> None:
        self._before = self._sample()

    def stop(self) -> None:
        after = self._sample()
        self.client, self.server, self.postgres, machine, self.seconds = (
            b - a for a, b in zip(self._before, after, strict=True)
        )
        self.rest = machine - self.client - self.server - self.postgres

    def per_request(self, count: int, server: str) -> str:
        def ms(seconds: float) -> str:
            return f"{seconds * 1000 / count:.2f} ms"

        if self.postgres_pid is None:
            return (
                f"CPU per request: load generator {ms(self.client)}, {server} "
                f"{ms(self.server)}, PostgreSQL and the rest {ms(self.rest)}"
            )
        return (
            f"CPU per request: load generator {ms(self.client)}, {server} {ms(self.server)}, "
            f"PostgreSQL {ms(self.postgres)}, rest of the machine {ms(self.rest)}"
        )


def serve(
    app_factory: str,
    env: dict[str, str],
    replicas: int = 1,
    *,
    name: str = "server",
    app_dir: Path | None = None,
) -> list[tuple[subprocess.Popen, str]]:
    """``replicas`` uvicorn processes of ``app_factory``, each as ``devstack serve`` runs a
    service: one process (a deployment scales by replicas behind a balancer, not by workers)."""
    servers = []
    for _ in range(replicas):
        port = free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                app_factory,
                "--factory",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
                *(["--app-dir", str(app_dir)] if app_dir else []),
            ],
            env=env,
        )
        servers.append((process, f"http://127.0.0.1:{port}"))
        wait_for_port(port, process, name)
    return servers


#: One step of a client: (result name, method, path, aiohttp request keyword arguments).
Request = tuple[str, str, str, dict[str, Any]]


async def latencies(
    bases: list[str],
    headers: dict[str, str],
    clients: int,
    steps: Callable[[random.Random], Iterable[Request]],
    *,
    rounds: int | None = None,
    seconds: float | None = None,
    seed: int = 11,
) -> dict[str, list[float]]:
    """Closed loop: each client (its own keep-alive connection) sends its next request as
    soon as the last one answered, to the replicas in turn (what a load balancer in front of
    them does, request by request), ``rounds`` times or for ``seconds``; each round sends
    the requests ``steps(rng)`` gives. Returns milliseconds per result name.

    The load generator is aiohttp: it shares the machine's cores with the servers, and httpx
    spent five times its CPU per request."""
    results: dict[str, list[float]] = {}
    rng = random.Random(seed)
    turn = itertools.count()
    deadline = time.perf_counter() + seconds if seconds is not None else None

    def more(done: int) -> bool:
        if rounds is not None and done >= rounds:
            return False
        return deadline is None or time.perf_counter() < deadline

    async def client_loop() -> None:
        async with aiohttp.ClientSession(headers=headers) as client:
            done = 0
            while more(done):
                for name, method, path, kwargs in steps(rng):
                    started = time.perf_counter()
                    url = bases[next(turn) % len(bases)] + path
                    async with client.request(method, url, **kwargs) as response:
                        body = await response.read()
                    results.setdefault(name, []).append((time.perf_counter() - started) * 1000)
                    assert response.status == 200, body
                done += 1

    await asyncio.gather(*(client_loop() for _ in range(clients)))
    return results
