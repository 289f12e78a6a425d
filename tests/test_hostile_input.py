"""Hostile input against every write and list route of every service in services.toml
(devstack.hostile): no answer is a 5xx, and a refused request stores nothing.

Each service runs once for the module, in-process, on its own database and an emptied
bus; its ``<service>_testdata.hostile_seed`` (if it has one) creates the rows whose ids
and bodies the probes start from."""

from __future__ import annotations

import datetime as dt
import enum
import importlib
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest_asyncio
from fastapi import FastAPI
from pydantic import BaseModel, Field

from devstack import hostile
from devstack.project import all_scopes, environment, load_services
from devstack.pytest_plugin import DEMO_COUNTY, Stack, empty_bus
from devstack.testing import running

SERVICES = [s.name for s in load_services()]
#: Every scope of every role: the probes reach each route (region: the demo county).
ALL_SCOPES = all_scopes()


class Target:
    def __init__(self, name, app, client, stack, seed, headers) -> None:
        self.name, self.app, self.client, self.stack = name, app, client, stack
        self.seed, self.headers = seed, headers

    def prober(self) -> hostile.Prober:
        return hostile.Prober(self.app, self.client, self.headers, self.seed)


@pytest_asyncio.fixture(scope="module", params=SERVICES)
async def target(request, databases, nats_server, auth_keys) -> AsyncIterator[Target]:
    service = databases.services[request.param]
    await empty_bus(nats_server.url)  # no other test's (or service's) events
    stack = Stack(databases, nats_server.url, auth_keys)
    settings = await stack.settings_for(service.name)
    # Built as uvicorn builds it (the factory reads its settings from the environment).
    variables = {service.env_prefix + k.upper(): str(v) for k, v in settings.items()}
    with environment(variables):
        app = importlib.import_module(f"{service.package}.main").create_app()
    try:
        testdata = importlib.import_module(f"{service.name}_testdata")
    except ModuleNotFoundError:
        testdata = None
    try:
        async with running(app) as client:
            make_seed = getattr(testdata, "hostile_seed", None)
            seed = await make_seed(app, client, stack) if make_seed else hostile.Seed()
            helper = seed.values.get("helper_id")
            token = auth_keys.token(
                "county_admin",
                DEMO_COUNTY,
                scopes=ALL_SCOPES,
                extra_claims={"helper_id": str(helper)} if helper else None,
            )
            yield Target(
                service.name, app, client, stack, seed, {"Authorization": f"Bearer {token}"}
            )
    finally:
        for url in stack.created:
            await databases.drop(url)


async def test_hostile_input_is_refused_and_stores_nothing(target):
    started = time.monotonic()
    prober = target.prober()
    findings = await prober.run()
    took = time.monotonic() - started
    print(
        f"\n{target.name}: {len(prober.builder.spec.operations())} operations, "
        f"{prober.sent} requests, {took:.1f}s; base requests not accepted:\n"
        + "\n".join(f"  {k} → {s}" for k, s in prober.base_statuses.items() if isinstance(s, str))
    )
    assert not findings, f"{len(findings)} findings:\n" + hostile.report(findings)


async def test_parallel_identical_writes_answer_no_5xx(target):
    prober = target.prober()
    for op in prober.spec.operations():
        if op.writes:
            await prober.parallel(op)
    assert not prober.findings, hostile.report(prober.findings)


async def test_the_fingerprint_sees_an_accepted_write(target):
    """The no-stored-change check can fail: a valid write changes the fingerprint."""
    prober = target.prober()
    for op in prober.spec.operations():
        if not op.writes or op.multipart is not None:
            continue
        before = await prober.fingerprint()
        status, _ = await prober.send(op, prober.builder.base(op))
        if status in (200, 201):
            assert await prober.fingerprint() != before, op.key
            return


class _Kind(enum.StrEnum):
    a = "a"


class _Line(BaseModel):
    item: str = Field(max_length=10)
    amount: Decimal = Field(le=Decimal("999999999999.99"))


class _Survey(BaseModel):
    income: dict[str, Decimal] = {}


class _Body(BaseModel):
    """One field of each kind the probes tell apart."""

    name: str
    born: dt.date
    kind: _Kind
    region_code: str = Field(examples=["622924100201"])
    id_number: str | None = None
    lines: list[_Line]
    survey: _Survey | None = None


def test_every_kind_of_field_gets_its_probes():
    """The probes follow the schema: a route with one field of each kind (no database)."""
    app = FastAPI()

    @app.post("/things")
    async def create(body: _Body, page: int = 1) -> dict:
        return {}

    spec = hostile.Spec(app.openapi())
    (op,) = spec.operations()
    probes = {v.probe for v in hostile.variants(spec, hostile.Builder(spec, hostile.Seed()), op)}
    expected = {
        "body.name: NUL",
        "body.name: control characters",
        "body.name: 100k characters",
        "body.born: date '0001-01-01'",
        "body.born: date 0",
        "body.kind: unknown enum value",
        "body.region_code: foreign region",
        "body.id_number: prefecture-level ID number",
        "body.lines.0.item: NUL",
        "body.lines.0.amount: amount '999999999999.99'",
        "body.lines: two maximal amounts in one list",
        "body.survey.income: two maximal amounts in one map",
        "body.survey.income.x: amount '99999999999999999999.99'",
        "query.page: integer 9223372036854775808",
        "query.page: NUL",
        "query.page: 10k characters",
    }
    assert expected <= probes, expected - probes
