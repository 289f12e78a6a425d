"""The tables every service has in the same shape, as each service database has them: the
outbox and the audit log are what kit defines (created by kit.migrations' helpers), and an
audit log refuses UPDATE, DELETE and TRUNCATE (kit.migrations.make_append_only), so not even
the service rewrites history."""

from __future__ import annotations

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from devstack.project import load_services
from kit.audit import define_audit_table
from kit.db import asyncpg_dsn, create_engine
from kit.outbox import define_outbox_table

SERVICES = [s.name for s in load_services()]
CHANGES = ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log")

DEFINITIONS = {"outbox": define_outbox_table, "audit_log": define_audit_table}


def _kit_tables(names: set[str]) -> MetaData:
    metadata = MetaData()
    for name in names:
        DEFINITIONS[name](metadata)
    return metadata


#: A service may index its audit log for its own queries (the registry's refusals).
KIT_INDEXES = {i.name for t in _kit_tables(set(DEFINITIONS)).tables.values() for i in t.indexes}


async def _audit_log_refuses_changes(url: str) -> bool:
    """False if the database has no audit log; raises if a change goes through."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        if await conn.fetchval("SELECT to_regclass('audit_log')") is None:
            return False
        await conn.execute(
            "INSERT INTO audit_log (actor, roles, action, entity, entity_id) "
            "VALUES ('test', '{}', 'test.written', 'test', '1')"
        )
        for statement in CHANGES:
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute(statement)
        assert await conn.fetchval("SELECT actor FROM audit_log") == "test"
        return True
    finally:
        await conn.close()


async def _differences_from_kit(url: str) -> tuple[set[str], list]:
    """The kit tables the database has, and how they differ from kit's definitions."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:

            def compare(sync_conn):
                present = {t for t in DEFINITIONS if sync_conn.dialect.has_table(sync_conn, t)}
                context = MigrationContext.configure(
                    sync_conn,
                    opts={
                        "compare_type": True,
                        "include_name": lambda name, kind, _: (
                            name in present
                            if kind == "table"
                            else name in KIT_INDEXES
                            if kind == "index"
                            else True
                        ),
                    },
                )
                return present, compare_metadata(context, _kit_tables(present))

            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


async def test_every_audit_log_refuses_update_delete_and_truncate(databases):
    audited = []
    for service in SERVICES:
        url = await databases.create(service)
        try:
            if await _audit_log_refuses_changes(url):
                audited.append(service)
        finally:
            await databases.drop(url)
    # the services whose writes are audited today; a new one with an audit log is checked too
    assert {"registry", "health"} <= set(audited)


async def test_every_outbox_and_audit_log_is_as_kit_defines_it(databases):
    found = {}
    for service in SERVICES:
        url = await databases.create(service)
        try:
            present, differences = await _differences_from_kit(url)
        finally:
            await databases.drop(url)
        assert differences == [], service
        found[service] = present
    assert found["gateway"] == {"outbox"}
    assert found["registry"] == found["health"] == {"outbox", "audit_log"}
