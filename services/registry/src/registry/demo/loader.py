"""Load the demo county into an empty registry, through the same service layer (and
outbox) as the API, so every household also reaches the gateway as events."""

from __future__ import annotations

import asyncio

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from sqlalchemy import func, select

from contracts.enums import RegionLevel
from kit.auth import Principal
from kit.db import create_engine, create_sessionmaker
from registry.config import RegistrySettings
from registry.demo.generator import DemoCounty, generate_county
from registry.households.schemas import HouseholdCreate, MemberCreate
from registry.households.service import HouseholdService
from registry.models import Region
from registry.pii import IdNumberVault

LOADER = Principal(
    subject="demo-loader", scopes=frozenset({"registry:write"}), region="620000000000"
)


async def load(
    settings: RegistrySettings, county: DemoCounty, *, show_progress: bool = True
) -> int:
    """Insert the county unless the registry already has regions; returns households loaded."""
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    service = HouseholdService(IdNumberVault.from_settings(settings))
    try:
        async with sessions() as session:
            if (await session.execute(select(func.count()).select_from(Region))).scalar_one():
                return 0
            session.add_all(
                Region(
                    code=r.code,
                    name=r.name,
                    level=RegionLevel(r.level).value,
                    parent_code=r.parent_code,
                )
                for r in county.regions
            )
            await session.commit()
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=not show_progress,
        ) as progress:
            task = progress.add_task("demo households", total=len(county.households))
            for seed in county.households:
                body = HouseholdCreate(
                    region_code=seed.region_code,
                    group_no=seed.group_no,
                    poverty_state=seed.poverty_state,
                    assistance_type=seed.assistance_type,
                    monitoring_category=seed.monitoring_category,
                    causes=list(seed.causes),
                    primary_cause=seed.primary_cause,
                    identified_year=seed.identified_year,
                    per_capita_net_income=seed.per_capita_net_income,
                    members=[
                        MemberCreate(
                            name=m.name,
                            id_number=m.id_number,
                            relation=m.relation,
                            labour_capacity=m.labour_capacity,
                        )
                        for m in seed.members
                    ],
                )
                async with sessions() as session:
                    await service.create(session, body, LOADER)
                progress.advance(task)
        return len(county.households)
    finally:
        await engine.dispose()


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
        else "demo county: registry not empty, nothing loaded"
    )
