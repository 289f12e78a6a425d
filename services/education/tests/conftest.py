from collections.abc import AsyncIterator

import httpx
import nats
import pytest_asyncio

from devstack.testing import running
from education.config import EducationSettings
from education.main import create_app


@pytest_asyncio.fixture
async def education_app(stack):
    return create_app(EducationSettings(**await stack.settings_for("education")))


@pytest_asyncio.fixture
async def client(education_app) -> AsyncIterator[httpx.AsyncClient]:
    async with running(education_app) as client:
        yield client


@pytest_asyncio.fixture
async def js(stack):
    """A JetStream client: registry events published as the registry would."""
    nc = await nats.connect(stack.nats_url)
    yield nc.jetstream()
    await nc.close()
