"""pytest fixtures: a real PostgreSQL and a real NATS JetStream server, started once per
test run from the same wheels ``make run`` uses, plus per-test databases and tokens.

Loaded for the whole suite by ``-p devstack.pytest_plugin`` (see pyproject.toml).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import nats
import pytest
import pytest_asyncio
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devstack.project import ServiceInfo, load_services, role_token
from devstack.provisioning import migrate
from devstack.servers import NatsServer, PostgresServer, free_port
from kit.auth import create_key_pair
from kit.db import asyncpg_dsn

DEMO_COUNTY = "622924000000"

_exporter = InMemorySpanExporter()


def pytest_configure(config: pytest.Config) -> None:
    # Installed before any app is built, so every service's spans land in memory.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_exporter))
        trace.set_tracer_provider(provider)


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """Finished spans of this test (cleared before it starts)."""
    _exporter.clear()
    return _exporter


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(
        tmp_path_factory.mktemp("postgres") / "data", free_port(), durable=False
    )
    server.start(log_file=tmp_path_factory.getbasetemp() / "postgres.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path_factory.mktemp("nats"), free_port())
    server.start(log_file=tmp_path_factory.getbasetemp() / "nats.log")
    yield server
    server.stop()


class Databases:
    """Fresh, migrated databases per test: each service is migrated once into a template,
    then every test gets ``CREATE DATABASE … TEMPLATE`` (a fast file copy)."""

    def __init__(self, postgres: PostgresServer) -> None:
        self.postgres = postgres
        self.services = {s.name: s for s in load_services()}
        self._templates: dict[str, str] = {}
        self._counter = itertools.count(1)
        self._lock = asyncio.Lock()

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(asyncpg_dsn(self.postgres.url()))

    async def _template(self, service: ServiceInfo) -> str:
        async with self._lock:
            if service.name not in self._templates:
                name = f"template_{service.name}"
                conn = await self._admin()
                try:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    await conn.execute(f'CREATE DATABASE "{name}"')
                finally:
                    await conn.close()
                await migrate(service, self.postgres.url(name))
                self._templates[service.name] = name
            return self._templates[service.name]

    async def create(self, service: str) -> str:
        """A new database with the service's schema; returns its SQLAlchemy URL."""
        template = await self._template(self.services[service])
        name = f"{service}_{next(self._counter)}"
        conn = await self._admin()
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await conn.close()
        return self.postgres.url(name)

    async def drop(self, url: str) -> None:
        """Drop a test's database (closing any connection left open), to keep the disk small."""
        name = url.rsplit("/", 1)[1]
        conn = await self._admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest.fixture(scope="session")
def databases(postgres: PostgresServer) -> Databases:
    return Databases(postgres)


@dataclass(frozen=True)
class Keys:
    private: Path
    public: Path

    def token(self, role: str = "county_admin", region: str = DEMO_COUNTY, **kwargs) -> str:
        return role_token(self.private.read_bytes(), role=role, region=region, **kwargs)

    def headers(
        self, role: str = "county_admin", region: str = DEMO_COUNTY, **kwargs
    ) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, region, **kwargs)}"}


@pytest.fixture(scope="session")
def auth_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    private, public = create_key_pair(tmp_path_factory.mktemp("keys"))
    return Keys(private, public)


async def empty_bus(nats_url: str) -> None:
    """Delete every stream, so tests do not see each other's events."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for stream in await js.streams_info():
            await js.delete_stream(stream.config.name)
    finally:
        await nc.close()


@pytest_asyncio.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[str]:
    """The NATS URL, with every stream deleted first so tests do not see each other's events."""
    await empty_bus(nats_server.url)
    return nats_server.url


class Stack:
    """Settings for in-process services of one test: fresh database, shared bus and keys."""

    def __init__(self, databases: Databases, nats_url: str, keys: Keys) -> None:
        self.databases = databases
        self.nats_url = nats_url
        self.keys = keys
        self.created: list[str] = []

    async def settings_for(self, service: str, **overrides) -> dict:
        """Keyword arguments for the service's Settings class."""
        info = self.databases.services[service]
        database_url = await self.databases.create(service)
        self.created.append(database_url)
        values = {
            "database_url": database_url,
            "nats_url": self.nats_url,
            "auth_public_key_file": self.keys.public,
            "outbox_sweep_seconds": 0.5,
            "consumer_ack_wait_seconds": 5.0,
        }
        # Generated secrets: a Fernet key serves both the HMAC and the cipher.
        from cryptography.fernet import Fernet

        values.update({name.lower(): Fernet.generate_key().decode() for name in info.secrets})
        return {**values, **overrides}


@pytest_asyncio.fixture
async def stack(databases: Databases, bus: str, auth_keys: Keys) -> AsyncIterator[Stack]:
    stack = Stack(databases, bus, auth_keys)
    yield stack
    for url in stack.created:  # the test's apps have stopped by now
        await databases.drop(url)
