"""Several replicas of a service share one database and one durable consumer (as in the
Kubernetes deployment): the relays split the outbox without publishing a row twice, and the
consumers split the stream without applying an event twice."""

from __future__ import annotations

import asyncio
import contextlib

from prometheus_client import REGISTRY
from registry_testdata import OTHER_VILLAGE, VILLAGE, household_body
from sqlalchemy import text

from devstack.testing import eventually, running
from gateway.config import GatewaySettings
from gateway.main import create_app as create_gateway
from registry.config import RegistrySettings
from registry.main import create_app as create_registry

HOUSEHOLDS = 300


def published_total() -> float:
    return (
        REGISTRY.get_sample_value("jingzhun_events_published_total", {"service": "registry"}) or 0.0
    )


async def scalar(app, sql: str):
    async with app.state.runtime.engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar_one()


async def test_two_replicas_of_each_service_deliver_every_event_once(platform, stack, auth_keys):
    registry_settings = platform.registry_app.state.runtime.settings
    gateway_settings = platform.gateway_app.state.runtime.settings
    second_registry = create_registry(RegistrySettings(**registry_settings.model_dump()))
    second_gateway = create_gateway(GatewaySettings(**gateway_settings.model_dump()))
    before = published_total()
    # what the first replicas did before the test (the seeded regions' events)
    relayed_before = platform.registry_app.state.runtime.relay.published
    applied_before = platform.gateway_app.state.runtime.consumers[0].outcomes["applied"]
    async with contextlib.AsyncExitStack() as exits:
        registry_b = await exits.enter_async_context(running(second_registry))
        await exits.enter_async_context(running(second_gateway))
        headers = auth_keys.headers()

        async def create(i: int) -> None:
            client = platform.registry if i % 2 else registry_b  # requests land on both replicas
            body = household_body(region_code=VILLAGE if i % 3 else OTHER_VILLAGE, members=1)
            assert (await client.post("/households", json=body, headers=headers)).status_code == 201

        semaphore = asyncio.Semaphore(10)

        async def bounded(i: int) -> None:
            async with semaphore:
                await create(i)

        await asyncio.gather(*(bounded(i) for i in range(HOUSEHOLDS)))
        await eventually(
            lambda: scalar(platform.gateway_app, "SELECT count(*) FROM household_status"),
            until=lambda n: n == HOUSEHOLDS,
            timeout=60,
        )
        assert (
            await scalar(
                platform.registry_app, "SELECT count(*) FROM outbox WHERE published_at IS NULL"
            )
            == 0
        )
        # Each row was published by exactly one relay, once.
        assert published_total() - before == HOUSEHOLDS
        assert await scalar(platform.registry_app, "SELECT max(attempts) FROM outbox") == 0
        # Each event applied once, though two consumers pulled from the same durable.
        assert (
            await scalar(
                platform.gateway_app,
                "SELECT count(*) FROM inbox WHERE outcome = 'applied' "
                "AND event_type <> 'cn.jingzhun.registry.region.updated.v1'",
            )
            == HOUSEHOLDS
        )
        # Both replicas did part of the work.
        relays = [
            platform.registry_app.state.runtime.relay.published - relayed_before,
            second_registry.state.runtime.relay.published,
        ]
        assert sum(relays) == HOUSEHOLDS and min(relays) > 0, relays
        applied = [
            platform.gateway_app.state.runtime.consumers[0].outcomes["applied"] - applied_before,
            second_gateway.state.runtime.consumers[0].outcomes["applied"],
        ]
        assert sum(applied) == HOUSEHOLDS and min(applied) > 0, applied
