"""Alembic glue: each service keeps its migrations in ``<package>/migrations`` and its
``env.py`` calls :func:`run_migrations`. Tools call :func:`upgrade`."""

from __future__ import annotations

import asyncio

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(package: str, database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", f"{package}:migrations")
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(package: str, database_url: str, revision: str = "head") -> None:
    """Migrate a service's database (blocking; call from a thread inside an event loop)."""
    command.upgrade(alembic_config(package, database_url), revision)


def run_migrations(target_metadata: MetaData, default_url: str) -> None:
    """Body of a service's ``env.py``."""
    url = context.config.get_main_option("sqlalchemy.url") or default_url
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(run)
        await engine.dispose()

    asyncio.run(main())
