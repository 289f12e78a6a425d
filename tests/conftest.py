"""Cross-service fixtures: the registry and the gateway running side by side, in-process,
sharing one real NATS server, each with its own real database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio
from registry_testdata import REGIONS, seed_regions
from sqlalchemy import text

from devstack.testing import eventually, running
from gateway.config import GatewaySettings
from gateway.main import create_app as create_gateway
from registry.config import RegistrySettings
from registry.main import create_app as create_registry


@dataclass
class Platform:
    registry: httpx.AsyncClient
    gateway: httpx.AsyncClient
    registry_app: object
    gateway_app: object


_UNPUBLISHED = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
_READ = "SELECT count(*) FROM inbox"


async def _count(app, query: str) -> int:
    async with app.state.runtime.engine.connect() as conn:
        return (await conn.execute(text(query))).scalar_one()


@pytest_asyncio.fixture
async def platform(stack) -> AsyncIterator[Platform]:
    registry_app = create_registry(RegistrySettings(**await stack.settings_for("registry")))
    gateway_app = create_gateway(GatewaySettings(**await stack.settings_for("gateway")))
    async with contextlib.AsyncExitStack() as exits:
        registry = await exits.enter_async_context(running(registry_app))
        gateway = await exits.enter_async_context(running(gateway_app))
        await seed_regions(registry_app)
        # the seeded regions' own events are through (published, and read by the gateway)
        # before a test counts what it publishes
        await eventually(lambda: _count(registry_app, _UNPUBLISHED), until=lambda n: n == 0)
        await eventually(lambda: _count(gateway_app, _READ), until=lambda n: n == len(REGIONS))
        yield Platform(registry, gateway, registry_app, gateway_app)
