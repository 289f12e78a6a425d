from collections.abc import AsyncIterator

import httpx
import nats
import pytest_asyncio

from devstack.testing import running
from health.config import HealthSettings
from health.main import create_app


@pytest_asyncio.fixture
async def health_app(stack):
    return create_app(HealthSettings(**await stack.settings_for("health")))


@pytest_asyncio.fixture
async def client(health_app) -> AsyncIterator[httpx.AsyncClient]:
    async with running(health_app) as client:
        yield client


@pytest_asyncio.fixture
async def js(stack):
    nc = await nats.connect(stack.nats_url)
    yield nc.jetstream()
    await nc.close()
