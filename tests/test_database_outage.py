"""PostgreSQL goes away and comes back: writers get a clear 503 (nothing half-written),
consumers wait instead of burning deliveries, and no good event is dead-lettered."""

from __future__ import annotations

import asyncio
import uuid

import nats
from gateway_testdata import event, publish, status_row
from registry_testdata import household_body, seed_regions

from contracts.events import registry as events
from devstack.testing import eventually, running
from gateway.config import GatewaySettings
from gateway.main import create_app as create_gateway
from registry.config import RegistrySettings
from registry.main import create_app as create_registry


async def test_services_ride_out_a_database_outage(stack, auth_keys, postgres, nats_server):
    # A consumer giving up after 2 deliveries: without riding the outage out, the events
    # below would be dead-lettered within seconds. It is the only gateway: a second one on
    # the same durable consumer would take some of the events into its own database.
    registry_app = create_registry(RegistrySettings(**await stack.settings_for("registry")))
    gateway_app = create_gateway(
        GatewaySettings(**await stack.settings_for("gateway", consumer_max_deliver=2))
    )
    async with running(registry_app) as registry, running(gateway_app) as gateway:
        await seed_regions(registry_app)
        await _outage(registry, gateway_app, gateway, auth_keys, postgres, nats_server)


async def _outage(registry, gateway_app, gateway, auth_keys, postgres, nats_server):
    headers = auth_keys.headers()
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    households = [uuid.uuid4() for _ in range(5)]
    postgres.stop()
    try:
        refused = await registry.post("/households", json=household_body(), headers=headers)
        assert refused.status_code == 503, refused.text
        assert (
            refused.json()["code"] == "DATABASE_UNAVAILABLE"
            and refused.headers["retry-after"] == "5"
        )
        ready = await gateway.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith(
            "unavailable"
        )
        for household_id in households:
            _, body = event(events.HOUSEHOLD_CREATED, household_id, 1)
            await publish(js, events.HOUSEHOLD_CREATED, body)
        # Longer than max_deliver (5) redeliveries with back-off would take.
        await asyncio.sleep(8)
    finally:
        postgres.start()
    try:
        for household_id in households:
            await eventually(lambda h=household_id: status_row(gateway_app, h), timeout=60)
        streams = [s.config.name for s in await js.streams_info()]
        if "DEADLETTER" in streams:
            assert (await js.stream_info("DEADLETTER")).state.messages == 0
        # And the registry writes again, its refused request having left no trace.
        created = await registry.post("/households", json=household_body(), headers=headers)
        assert created.status_code == 201
        listing = await registry.get("/households", headers=headers)
        assert listing.json()["total"] == 1
    finally:
        await nc.close()
