"""The demo loader goes through the service layer, and running it again adds nothing."""

from __future__ import annotations

from sqlalchemy import text

from registry.config import RegistrySettings
from registry.demo.generator import generate_county
from registry.demo.loader import load


async def count(settings: RegistrySettings, table: str) -> int:
    from kit.db import create_engine

    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
    finally:
        await engine.dispose()


async def test_load_is_complete_and_idempotent(stack):
    settings = RegistrySettings(**await stack.settings_for("registry"))
    county = generate_county(households=60)
    half = type(county)(regions=county.regions, households=county.households[:30])
    assert await load(settings, half, show_progress=False) == 30  # an interrupted first run
    assert await load(settings, county, show_progress=False) == 30  # resumes with the rest
    assert await load(settings, county, show_progress=False) == 0  # and then adds nothing
    assert await count(settings, "households") == 60
    assert await count(settings, "regions") == len(county.regions)
    assert await count(settings, "members") == sum(len(h.members) for h in county.households)
    # one event per household, as through the API, and one per region (the first run only)
    assert await count(settings, "outbox") == 60 + len(county.regions)
    # The survey records 两不愁 and safe water as well as income, so the demo's registry
    # dimensions are decided, not "not surveyed".
    unsurveyed = await count(
        settings,
        "households WHERE food_clothing_secure IS NULL OR safe_drinking_water IS NULL",
    )
    assert unsurveyed == 0
