"""Health's migrations build the tables its models describe: the persons table's columns
come from the persons library, its table from health's own migrations, and the two agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from health.models import metadata
from kit.db import create_engine


async def test_the_migrated_database_is_what_the_models_describe(databases):
    url = await databases.create("health")
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                )
            )
    finally:
        await engine.dispose()
        await databases.drop(url)
    assert differences == []
