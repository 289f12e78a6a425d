"""The demo county through the registry into the gateway: its statistics equal a recount,
and dropping the projections and replaying the streams gives back the same state."""

from __future__ import annotations

from gateway_testdata import projection_state
from sqlalchemy import text

from devstack.testing import eventually
from gateway.projection.statistics import recount, stored_counters
from gateway.rebuild import rebuild
from registry.demo.generator import generate_county
from registry.demo.loader import load

HOUSEHOLDS = 60


async def test_demo_county_rebuilds_to_the_same_state(platform, auth_keys):
    registry_settings = platform.registry_app.state.runtime.settings
    county = generate_county(seed=11, households=HOUSEHOLDS)
    assert await load(registry_settings, county, show_progress=False) == HOUSEHOLDS
    gateway = platform.gateway_app

    async def shown() -> int:
        async with gateway.state.runtime.engine.connect() as conn:
            return (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM household_status WHERE registry_event_id IS NOT NULL"
                    )
                )
            ).scalar_one()

    await eventually(shown, until=lambda n: n == HOUSEHOLDS, timeout=60)
    stats = (
        await platform.gateway.get("/regions/622924000000/stats", headers=auth_keys.headers())
    ).json()
    assert stats["all"]["households"] == HOUSEHOLDS
    assert stats["all"]["persons"] == sum(len(h.members) for h in county.households)
    async with gateway.state.runtime.sessionmaker() as session:
        assert await stored_counters(session) == await recount(session)

    before = await projection_state(gateway)
    report = await rebuild(gateway.state.runtime.settings)
    assert not report.failed and report.events >= HOUSEHOLDS
    assert await projection_state(gateway) == before
