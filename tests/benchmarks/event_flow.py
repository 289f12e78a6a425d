"""Benchmark of the event flow: registry API → outbox → JetStream → gateway projection.

    make bench            (or: .venv/bin/python tests/benchmarks/event_flow.py --households 1000)

Real PostgreSQL and NATS from the same wheels as `make run`, services in-process. Prints
figures and ratios measured in this one run (machines here are shared and noisy: compare
the ratios, not absolute numbers across runs).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "registry" / "tests"))

from common import percentile  # noqa: E402
from registry_testdata import VILLAGE, household_body, seed_regions  # noqa: E402

from devstack.pytest_plugin import Databases, Keys, Stack  # noqa: E402
from devstack.servers import NatsServer, PostgresServer, free_port  # noqa: E402
from devstack.testing import eventually, running  # noqa: E402
from gateway.config import GatewaySettings  # noqa: E402
from gateway.main import create_app as create_gateway  # noqa: E402
from kit.auth import create_key_pair  # noqa: E402
from registry.config import RegistrySettings  # noqa: E402
from registry.main import create_app as create_registry  # noqa: E402


async def scalar(app, sql: str) -> int:
    async with app.state.runtime.engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar_one()


async def write_households(client, headers, count: int, concurrency: int = 8) -> float:
    semaphore = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with semaphore:
            response = await client.post(
                "/households", json=household_body(VILLAGE, members=2), headers=headers
            )
            assert response.status_code == 201, response.text

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return time.perf_counter() - started


async def drain_rate(
    stack: Stack, nats: NatsServer, headers, households: int, batch_size: int
) -> tuple[float, float]:
    """Events/s the relay publishes once NATS returns with `households` events waiting."""
    settings = RegistrySettings(
        **await stack.settings_for("registry", outbox_batch_size=batch_size)
    )
    app = create_registry(settings)
    async with running(app) as client:
        await seed_regions(app)
        nats.stop()
        try:
            write_seconds = await write_households(client, headers, households)
        finally:
            nats.start()
        await eventually(
            lambda: scalar(app, "SELECT count(*) FROM outbox WHERE published_at IS NULL"),
            until=lambda n: n == 0,
            timeout=600,
            every=0.05,
        )
        # Reconnection itself (about 1 s) is not the relay's work: time from the first publish.
        first = await scalar(app, "SELECT extract(epoch FROM min(published_at)) * 1000 FROM outbox")
        last = await scalar(app, "SELECT extract(epoch FROM max(published_at)) * 1000 FROM outbox")
        return households / write_seconds, households / max((last - first) / 1000, 1e-3)


async def latency(stack: Stack, headers, samples: int) -> list[float]:
    """Milliseconds from POST /households (committed) to the status being served by the gateway."""
    registry = create_registry(RegistrySettings(**await stack.settings_for("registry")))
    gateway = create_gateway(GatewaySettings(**await stack.settings_for("gateway")))
    results = []
    async with running(registry) as reg, running(gateway) as gw:
        await seed_regions(registry)
        for sample in range(samples + 1):
            started = time.perf_counter()
            created = (
                await reg.post(
                    "/households", json=household_body(VILLAGE, members=2), headers=headers
                )
            ).json()
            url = f"/households/{created['id']}/status"
            await eventually(
                lambda url=url: gw.get(url, headers=headers),
                until=lambda r: r.status_code == 200,
                every=0.002,
            )
            if sample:  # the first one also waits for the consumer to attach
                results.append((time.perf_counter() - started) * 1000)
    return results


async def main(households: int, samples: int) -> None:
    logging.disable(logging.WARNING)  # the outage is deliberate: its warnings are expected
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        postgres = PostgresServer(root / "pg", free_port(), durable=False)
        nats = NatsServer(root / "nats", free_port())
        postgres.start()
        nats.start()
        try:
            keys = Keys(*create_key_pair(root / "keys"))
            stack = Stack(Databases(postgres), nats.url, keys)
            headers = keys.headers()
            print(
                f"event flow benchmark: {households} households (2 members each) per relay run, {samples} latency samples\n"
            )
            rates = {}
            for batch_size in (1, 20, 200):
                write_rate, rate = await drain_rate(stack, nats, headers, households, batch_size)
                rates[batch_size] = rate
                print(
                    f"  API writes (8 concurrent)       {write_rate:8.0f} households/s   (relay batch {batch_size})"
                )
                print(f"  relay drain, batch {batch_size:<4}        {rate:8.0f} events/s")
            print(f"\n  ratio batch 200 / batch 1       {rates[200] / rates[1]:8.1f}x")
            print(f"  ratio batch 20 / batch 1        {rates[20] / rates[1]:8.1f}x")
            millis = sorted(await latency(stack, headers, samples))
            p95 = percentile(millis, 0.95)
            print(
                f"\n  registry write → gateway status  p50 {statistics.median(millis):6.1f} ms   p95 {p95:6.1f} ms   max {millis[-1]:6.1f} ms"
            )
        finally:
            nats.stop()
            postgres.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.households, args.samples))
