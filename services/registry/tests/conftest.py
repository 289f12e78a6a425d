from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from registry_testdata import REGIONS
from sqlalchemy import insert

from devstack.testing import running
from registry.config import RegistrySettings
from registry.main import create_app
from registry.models import Region


@pytest_asyncio.fixture
async def registry_app(stack):
    return create_app(RegistrySettings(**await stack.settings_for("registry")))


@pytest_asyncio.fixture
async def client(registry_app) -> AsyncIterator[httpx.AsyncClient]:
    async with running(registry_app) as client:
        runtime = registry_app.state.runtime
        async with runtime.sessionmaker() as session:
            await session.execute(
                insert(Region),
                [dict(code=c, name=n, level=lv, parent_code=p) for c, n, lv, p in REGIONS],
            )
            await session.commit()
        yield client
