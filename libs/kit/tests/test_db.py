"""The kit's database sessions against a real PostgreSQL: the idle-connection ping, and
read-only sessions (autocommit, refusing writes)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import registry

from kit import db
from kit.db import asyncpg_dsn, create_engine, create_read_sessionmaker, create_sessionmaker


async def _backend_pid(engine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()


async def _terminate(postgres, pid: int) -> None:
    """What a database restart does to a pooled connection, without restarting the server
    the other tests share."""
    admin = await asyncpg.connect(asyncpg_dsn(postgres.url()))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_a_connection_idle_past_the_threshold_is_pinged_and_replaced(postgres, monkeypatch):
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.05)
    engine = create_engine(postgres.url(), pool_size=1)
    try:
        pid = await _backend_pid(engine)
        await _terminate(postgres, pid)
        await asyncio.sleep(0.2)
        assert await _backend_pid(engine) != pid  # a fresh connection, and no error
    finally:
        await engine.dispose()


async def test_a_busy_connection_is_not_pinged(postgres, monkeypatch):
    """The other side of the trade: a connection used within the threshold is trusted, so a
    restart in that instant fails one query (the pool then starts afresh)."""
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 60)
    engine = create_engine(postgres.url(), pool_size=1)
    try:
        pid = await _backend_pid(engine)
        await _terminate(postgres, pid)
        await asyncio.sleep(0.2)
        with pytest.raises(DBAPIError):
            await _backend_pid(engine)
        assert await _backend_pid(engine) != pid
    finally:
        await engine.dispose()


async def test_a_read_session_runs_each_statement_on_its_own(postgres):
    engine = create_engine(postgres.url())
    try:
        for sessions, separate in (
            (create_read_sessionmaker(engine), True),
            (create_sessionmaker(engine), False),
        ):
            async with sessions() as session:
                first = (await session.execute(text("SELECT now()"))).scalar_one()
                await asyncio.sleep(0.01)
                second = (await session.execute(text("SELECT now()"))).scalar_one()
            # now() is the start of the transaction: it moves only without one
            assert (first != second) is separate
    finally:
        await engine.dispose()


async def test_a_read_session_refuses_to_write(postgres):
    mapper = registry(metadata=MetaData())
    table = Table("read_only_probe", mapper.metadata, Column("id", Integer, primary_key=True))

    class Probe:
        pass

    mapper.map_imperatively(Probe, table)
    engine = create_engine(postgres.url())
    try:
        async with engine.begin() as conn:
            await conn.run_sync(mapper.metadata.create_all)
        async with create_read_sessionmaker(engine)() as session:
            session.add(Probe())
            with pytest.raises(RuntimeError, match="read-only"):
                await session.flush()
        async with engine.connect() as conn:
            count = await conn.execute(text("SELECT count(*) FROM read_only_probe"))
            assert count.scalar_one() == 0
            await conn.execute(text("DROP TABLE read_only_probe"))
            await conn.commit()
    finally:
        await engine.dispose()
