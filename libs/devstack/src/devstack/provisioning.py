"""Steps shared by ``devstack run``, ``devstack serve`` and the test fixtures:
databases, migrations (under an advisory lock, so replicas may start together) and streams."""

from __future__ import annotations

import asyncio

import asyncpg
import nats

from devstack.project import ServiceInfo
from kit.bus import dead_letter_stream, ensure_stream, service_stream
from kit.db import asyncpg_dsn
from kit.migrations import upgrade

MIGRATION_LOCK_ID = 7_240_001  # pg_advisory_lock key: one migrator per database at a time


async def migrate(service: ServiceInfo, database_url: str) -> None:
    """Run the service's Alembic migrations, serialised across replicas."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
        try:
            await asyncio.to_thread(upgrade, service.package, database_url)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
    finally:
        await conn.close()


async def provision_streams(
    services: list[ServiceInfo], nats_url: str, replicas: int = 1
) -> list[str]:
    """Create or update every producing service's stream and the dead-letter stream."""
    nc = await nats.connect(nats_url, connect_timeout=5)
    try:
        js = nc.jetstream()
        configs = [service_stream(s.name) for s in services if s.stream] + [dead_letter_stream()]
        for config in configs:
            config.num_replicas = replicas
            await ensure_stream(js, config)
        return [c.name for c in configs]
    finally:
        await nc.close()
