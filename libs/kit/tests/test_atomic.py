"""One transaction boundary (real PostgreSQL): ``kit.db.atomic`` commits where it begins,
joins where a transaction is someone else's, and a consumer's session cannot commit."""

from __future__ import annotations

import types

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from kit.app import SessionDep
from kit.db import atomic, consumer_sessionmaker, create_engine, create_sessionmaker
from kit.errors import install_error_handlers
from kit.problems import ProblemType

INSERT = text("INSERT INTO kit_atomic (name) VALUES (:name)")


@pytest.fixture
async def engine(postgres):
    engine = create_engine(postgres.url(), pool_size=2)
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS kit_atomic"))
        await conn.execute(
            text(
                "CREATE TABLE kit_atomic (name text CONSTRAINT kit_atomic_name_key UNIQUE "
                "DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    yield engine
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE kit_atomic"))
    await engine.dispose()


async def _names(engine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT name FROM kit_atomic ORDER BY name"))
        return list(rows.scalars())


async def test_atomic_begins_and_commits_when_no_transaction_is_open(engine):
    async with create_sessionmaker(engine)() as session:
        await session.execute(text("SELECT 1"))  # autobegun by a read: still ours to commit
        async with atomic(session):
            await session.execute(INSERT, {"name": "a"})
        assert not session.in_transaction()
    assert await _names(engine) == ["a"]


async def test_a_nested_atomic_joins_and_commits_nothing(engine):
    async with create_sessionmaker(engine)() as session:
        async with atomic(session):
            async with atomic(session):
                await session.execute(INSERT, {"name": "inner"})
            assert session.in_transaction()
            assert await _names(engine) == []  # not committed by the inner block
            await session.execute(INSERT, {"name": "outer"})
    assert await _names(engine) == ["inner", "outer"]


async def test_atomic_rolls_back_on_error(engine):
    async with create_sessionmaker(engine)() as session:
        with pytest.raises(ValueError):
            async with atomic(session):
                async with atomic(session):
                    await session.execute(INSERT, {"name": "lost"})
                raise ValueError("a rule refused")
        async with atomic(session):  # the session is usable again, and owns its next one
            await session.execute(INSERT, {"name": "kept"})
    assert await _names(engine) == ["kept"]


async def test_atomic_joins_a_consumers_batch(engine):
    sessions = consumer_sessionmaker(create_sessionmaker(engine))
    with pytest.raises(RuntimeError, match="batch"):
        async with sessions() as session, session.begin():
            async with atomic(session):
                await session.execute(INSERT, {"name": "handler"})
            assert await _names(engine) == []
            raise RuntimeError("the batch fails")
    assert await _names(engine) == []
    async with sessions() as session, session.begin():
        async with atomic(session):
            await session.execute(INSERT, {"name": "handler"})
    assert await _names(engine) == ["handler"]


async def test_a_consumers_session_refuses_commit(engine):
    async with consumer_sessionmaker(create_sessionmaker(engine))() as session:
        async with session.begin():
            await session.execute(INSERT, {"name": "a"})
            with pytest.raises(RuntimeError, match="committed by the consumer"):
                await session.commit()
            assert await _names(engine) == []  # nothing committed halfway through the batch
    assert await _names(engine) == ["a"]  # the batch's own end commits


async def test_commit_inside_an_atomic_block_is_refused(engine):
    async with create_sessionmaker(engine)() as session:
        with pytest.raises(RuntimeError, match="outermost"):
            async with atomic(session):
                await session.execute(INSERT, {"name": "a"})
                await session.commit()
    assert await _names(engine) == []


NAME_TAKEN = ProblemType(409, "NAME_TAKEN", "Name taken", "The name is taken.")
REFUSED = ProblemType(422, "REFUSED", "Refused", "A rule refused.")


async def test_a_write_request_commits_before_its_response(engine):
    """SessionDep's transaction ends before the response is sent: a commit that fails (here
    a deferred unique constraint) is the request's error, never a 2xx for nothing kept."""
    app = FastAPI()
    install_error_handlers(app)
    app.state.constraint_problems = {"kit_atomic_name_key": NAME_TAKEN("taken")}
    app.state.runtime = types.SimpleNamespace(sessionmaker=create_sessionmaker(engine))

    @app.post("/things")
    async def add(name: str, session: SessionDep) -> dict:
        await session.execute(INSERT, {"name": name})
        await session.execute(INSERT, {"name": name})  # a duplicate, checked at commit
        return {"added": name}

    @app.post("/one")
    async def one(name: str, session: SessionDep) -> dict:
        await session.execute(INSERT, {"name": name})
        return {"added": name}

    @app.post("/refused")
    async def refused(session: SessionDep) -> dict:
        await session.execute(INSERT, {"name": "refused"})
        raise REFUSED("a rule refused")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        taken = await client.post("/things?name=a")
        assert taken.status_code == 409 and taken.json()["code"] == "NAME_TAKEN"
        assert (await client.post("/refused")).status_code == 422
        assert (await client.post("/one?name=b")).status_code == 200
    assert await _names(engine) == ["b"]
