from collections.abc import AsyncIterator

import httpx
import nats
import pytest_asyncio

from devstack.testing import running
from gateway.config import GatewaySettings
from gateway.main import create_app


@pytest_asyncio.fixture
async def gateway_app(stack):
    return create_app(
        GatewaySettings(**await stack.settings_for("gateway", consumer_max_deliver=2))
    )


@pytest_asyncio.fixture
async def client(gateway_app) -> AsyncIterator[httpx.AsyncClient]:
    async with running(gateway_app) as client:
        yield client


@pytest_asyncio.fixture
async def js(stack):
    nc = await nats.connect(stack.nats_url)
    yield nc.jetstream()
    await nc.close()
