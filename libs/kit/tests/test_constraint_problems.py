"""Constraint violations become the service's declared problem, or a generic 4xx: never a
500 (real PostgreSQL)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from kit.db import create_engine, create_sessionmaker
from kit.errors import install_error_handlers
from kit.problems import ProblemType

NAME_TAKEN = ProblemType(409, "NAME_TAKEN", "Name taken", "The name is taken.", field="body.name")
TAKEN = NAME_TAKEN("the name is taken")


async def test_violations_answer_the_declared_problem_or_a_generic_one(postgres):
    engine = create_engine(postgres.url(), pool_size=2)
    sessions = create_sessionmaker(engine)
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS kit_things"))
        await conn.execute(
            text(
                "CREATE TABLE kit_things (name text CONSTRAINT kit_things_name_key UNIQUE, "
                "code text CONSTRAINT kit_things_code_key UNIQUE, amount numeric(4,2))"
            )
        )
    app = FastAPI()
    install_error_handlers(app)
    app.state.constraint_problems = {"kit_things_name_key": TAKEN}

    @app.post("/things")
    async def add(name: str, code: str, amount: str = "1") -> dict:
        async with sessions() as session:
            await session.execute(
                text("INSERT INTO kit_things VALUES (:n, :c, CAST(:a AS numeric))"),
                {"n": name, "c": code, "a": amount},
            )
            await session.commit()
        return {}

    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.post("/things?name=a&code=1")).status_code == 200
            declared = await client.post("/things?name=a&code=2")
            assert declared.status_code == 409 and declared.json()["code"] == "NAME_TAKEN"
            assert declared.json()["errors"][0]["field"] == "body.name"
            generic = await client.post("/things?name=b&code=1")
            assert generic.status_code == 409 and generic.json()["code"] == "CONFLICT"
            overflow = await client.post("/things?name=c&code=3&amount=123456")
            assert overflow.status_code == 422 and overflow.json()["code"] == "INVALID_VALUE"
            assert "too large" in overflow.json()["detail"]
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM kit_things"))).scalar() == 1
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE kit_things"))
        await engine.dispose()
