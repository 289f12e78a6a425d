from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from registry_testdata import seed_regions

from devstack.testing import running
from registry.config import RegistrySettings
from registry.main import create_app


@pytest_asyncio.fixture
async def registry_app(stack):
    return create_app(RegistrySettings(**await stack.settings_for("registry")))


@pytest_asyncio.fixture
async def client(registry_app) -> AsyncIterator[httpx.AsyncClient]:
    async with running(registry_app) as client:
        await seed_regions(registry_app)
        yield client
