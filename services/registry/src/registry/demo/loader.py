"""Load the demo county into the registry, through the same service layer (and
outbox) as the API, so every household also reaches the gateway as events."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib

from sqlalchemy import select

from contracts.enums import RegionLevel
from contracts.events.registry import RegionUpdated
from kit.auth import Principal
from kit.db import atomic, create_engine, create_sessionmaker
from kit.progress import progress_bar
from registry.config import RegistrySettings
from registry.demo.generator import REFERENCE_DATE, DemoCounty, HouseholdSeed, generate_county
from registry.households.schemas import HouseholdCreate
from registry.households.service import HouseholdService
from registry.models import Member
from registry.pii import IdNumberVault
from registry.regions.service import upsert_regions

LOADER = Principal(
    subject="demo-loader", scopes=frozenset({"registry:write"}), region="620000000000"
)


async def load(
    settings: RegistrySettings, county: DemoCounty, *, show_progress: bool = True
) -> int:
    """Insert whatever part of the county is missing; returns the households added.

    Safe to run again: a region is written (and published) only if absent or changed, and a
    household whose head is already registered is skipped, so a second run adds nothing and
    an interrupted one resumes.
    """
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    service = HouseholdService(IdNumberVault.from_settings(settings))
    try:
        async with sessions() as session:
            regions = [
                RegionUpdated(
                    code=r.code,
                    name=r.name,
                    level=RegionLevel(r.level),
                    parent_code=r.parent_code,
                    population=r.population,
                    key_poor_village=r.key_poor_village,
                )
                for r in county.regions
            ]
            async with atomic(session):
                await upsert_regions(session, regions)
            by_head = {
                service.vault.lookup_hash(h.members[0].id_number): h for h in county.households
            }
            present = set(
                (
                    await session.execute(
                        select(Member.id_number_hash).where(Member.id_number_hash.in_(by_head))
                    )
                ).scalars()
            )
        missing = [household for key, household in by_head.items() if key not in present]
        with progress_bar(disable=not show_progress or not missing) as progress:
            task = progress.add_task("demo households", total=len(missing))
            for seed in missing:
                async with sessions() as session, atomic(session):
                    await service.create(session, _request(seed), LOADER)
                progress.advance(task)
        return len(missing)
    finally:
        await engine.dispose()


#: The demo's stand-in for the county's existing paper file of each household.
DEMO_FILE = {
    "name": "建档立卡档案 (demo)",
    "sha256": hashlib.sha256(b"jingzhun demo county").hexdigest(),
    "location": "demo://guanghe/files",
}


def _request(seed: HouseholdSeed) -> HouseholdCreate:
    """The API request for a seed household (the seed has the request's fields)."""
    fields = dataclasses.asdict(seed)
    fields["survey"] = {
        "survey_year": REFERENCE_DATE.year - 1,
        "per_capita_net_income": fields.pop("per_capita_net_income"),
        "food_clothing_secure": seed.food_clothing_secure,
        "safe_drinking_water": seed.safe_drinking_water,
    }
    return HouseholdCreate.model_validate({**fields, "evidence": [DEMO_FILE]})


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(
        description="Load the demo county (广河县) into an empty registry."
    )
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--households", type=int, default=1200)
    args = parser.parse_args()
    loaded = asyncio.run(
        load(RegistrySettings(), generate_county(seed=args.seed, households=args.households))
    )
    print(
        f"demo county: {loaded} households loaded"
        if loaded
        else "demo county: already loaded, nothing to add"
    )
