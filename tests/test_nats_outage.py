"""NATS is down while the registry keeps writing; when it returns, every event reaches the
gateway exactly once (the outbox keeps them, the broker and the inbox drop duplicates)."""

from __future__ import annotations

import asyncio

import nats
from registry_testdata import OTHER_VILLAGE, REGIONS, VILLAGE, household_body
from sqlalchemy import text

from devstack.testing import eventually

HOUSEHOLDS = 1000
UPDATED = 200


async def scalar(app, sql: str):
    async with app.state.runtime.engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar_one()


async def rows(app, sql: str) -> dict:
    async with app.state.runtime.engine.connect() as conn:
        return dict((await conn.execute(text(sql))).all())


async def test_events_written_during_an_outage_arrive_once(platform, auth_keys, nats_server):
    headers = auth_keys.headers()
    nats_server.stop()
    try:
        semaphore = asyncio.Semaphore(8)

        async def create(i: int) -> str:
            async with semaphore:
                body = household_body(
                    region_code=VILLAGE if i % 2 else OTHER_VILLAGE, members=1 + i % 2
                )
                response = await platform.registry.post("/households", json=body, headers=headers)
                assert response.status_code == 201, response.text
                return response.json()["id"]

        ids = await asyncio.gather(*(create(i) for i in range(HOUSEHOLDS)))
        for household_id in ids[:UPDATED]:
            response = await platform.registry.patch(
                f"/households/{household_id}", json={"assistance_type": "dibao"}, headers=headers
            )
            assert response.status_code == 200
        assert (
            await scalar(
                platform.registry_app, "SELECT count(*) FROM outbox WHERE published_at IS NULL"
            )
            == HOUSEHOLDS + UPDATED
        )
        assert await scalar(platform.gateway_app, "SELECT count(*) FROM household_status") == 0
        ready = await platform.registry.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["nats"] == "unavailable"
    finally:
        nats_server.start()

    async def projected():
        return await scalar(
            platform.gateway_app,
            "SELECT count(*) FROM household_status WHERE poverty_state IS NOT NULL",
        )

    await eventually(projected, until=lambda n: n == HOUSEHOLDS, timeout=180, every=0.5)
    await eventually(
        lambda: scalar(
            platform.gateway_app,
            "SELECT count(*) FROM household_status WHERE assistance_type = 'dibao'",
        ),
        until=lambda n: n == UPDATED,
        timeout=120,
        every=0.5,
    )
    assert (
        await scalar(
            platform.registry_app, "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        )
        == 0
    )

    # Exactly once: every event applied one time, the stream holds no duplicate.
    # (the seeded regions' events are not this test's)
    outcomes = await rows(
        platform.gateway_app,
        "SELECT outcome, count(*) FROM inbox "
        "WHERE event_type <> 'cn.jingzhun.registry.region.updated.v1' GROUP BY outcome",
    )
    assert outcomes.get("applied") == HOUSEHOLDS + UPDATED
    assert set(outcomes) <= {"applied", "stale"}
    nc = await nats.connect(nats_server.url)
    try:
        info = await nc.jetstream().stream_info("REGISTRY")
        assert info.state.messages == HOUSEHOLDS + UPDATED + len(REGIONS)
    finally:
        await nc.close()

    # Per household, the gateway is at the registry's latest version.
    registry_versions = await rows(
        platform.registry_app, "SELECT id::text, version FROM households"
    )
    gateway_positions = await rows(
        platform.gateway_app,
        "SELECT split_part(aggregate_key, '#', 2), sequence FROM aggregate_positions",
    )
    regions = {code for code, *_ in REGIONS}
    assert {k: v for k, v in gateway_positions.items() if k not in regions} == registry_versions
    assert sum(v == 2 for v in registry_versions.values()) == UPDATED
