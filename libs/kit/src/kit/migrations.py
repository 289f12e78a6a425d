"""Alembic glue: each service keeps its migrations in ``<package>/migrations`` and its
``env.py`` calls :func:`run_migrations`. Tools call :func:`upgrade`.

The tables every service has in the same shape (the outbox, the audit log) are created by
the helpers here, from the same definitions as the services' metadata
(:func:`kit.outbox.define_outbox_table`, :func:`kit.audit.define_audit_table`), so a
migration cannot drift from them; :func:`make_append_only` is the one way an audit log
refuses changes (ARCHITECTURE §6.4)."""

from __future__ import annotations

import asyncio

from alembic import command, context, op
from alembic.config import Config
from alembic.operations import ops
from sqlalchemy import MetaData, Table, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from kit.audit import append_only_sql, define_audit_table
from kit.consumer import define_inbox_tables
from kit.outbox import define_outbox_table
from kit.policy import define_policy_table


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


def create_outbox_table() -> None:
    """In a migration: create the outbox exactly as :func:`define_outbox_table` defines it."""
    _create(define_outbox_table(MetaData()))


def create_audit_table() -> None:
    """In a migration: create the audit log exactly as :func:`define_audit_table` defines it
    (then :func:`make_append_only`)."""
    _create(define_audit_table(MetaData()))


def create_inbox_tables() -> None:
    """In a migration: create a consumer's ``inbox`` and ``aggregate_positions`` exactly as
    :func:`kit.consumer.define_inbox_tables` defines them."""
    for table in define_inbox_tables(MetaData()):
        _create(table)


def create_policy_table() -> None:
    """In a migration: create the policy parameters' overrides table exactly as
    :func:`kit.policy.define_policy_table` defines it."""
    _create(define_policy_table(MetaData()))


def make_append_only(table: str = "audit_log") -> None:
    """In a migration: make ``table`` refuse UPDATE, DELETE and TRUNCATE. Idempotent, so it
    also completes a table made append-only before TRUNCATE was refused."""
    for statement in append_only_sql(table):
        op.execute(statement)


def _create(table: Table) -> None:
    op.invoke(ops.CreateTableOp.from_table(table))
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        op.invoke(ops.CreateIndexOp.from_index(index))
