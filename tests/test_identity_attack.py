"""The ID-number recovery attack against every output without ``pii:read``.

A masked ID number and a birth date gave back the full number (the old mask kept digits
1–4 and 15–18). The attack (:mod:`devstack.identity_attack`) gathers what the API, the
events, a dashboard's SSE stream and the public board show about each person and counts
the numbers that fit; fewer than ``MIN_CANDIDATES`` for anyone of whom some part of the
number is shown fails the test. Outputs of one kind are attacked together: the API routes
(every GET, for callers without ``pii:read`` and for no token), the dashboard's stream and
the public board in one test, the events (for services only) in another."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import random
import uuid

import httpx
import pytest
import pytest_asyncio
from registry_testdata import OTHER_VILLAGE, REGIONS, VILLAGE, household_body, seed_regions
from sqlalchemy import text
from workflow_steps import DOC, new_candidate, open_publicity, to_village_publicity

from contracts.events.health import ENROLMENT_RECORDED
from contracts.events.registry import HOUSEHOLD_CREATED, MemberSnapshot
from contracts.resident_id import check_digit, compose, mask
from devstack.identity_attack import (
    MIN_CANDIDATES,
    NOT_SWEPT,
    Knowledge,
    Person,
    count_candidates,
    explain,
    observations,
    recovered,
    residue,
    stream_documents,
    sweep,
)
from devstack.project import load_roles
from devstack.testing import eventually, running, serving
from gateway.config import GatewaySettings
from gateway.main import create_app as create_gateway
from health.config import HealthSettings
from health.demo.loader import load as load_health_year
from health.main import create_app as create_health
from health.records import registry_persons
from registry.config import RegistrySettings
from registry.main import create_app as create_registry

TODAY = dt.date.today()
COUNTY = "622924"


def old_mask(number: str) -> str:
    """The mask before: digits 1–4 and 15–18 (``6229**********123X``)."""
    return number[:4] + "*" * 10 + number[-4:]


def member_view(number: str, fragment: str, **birth) -> dict:
    return {"id": str(uuid.uuid4()), "name": "马某", "id_number": fragment, **birth}


def attack(number: str, document: dict) -> int:
    """Candidates left for the person the document shows (named by its ``id``)."""
    person = Person.of(number, document["id"], county=COUNTY)
    found = recovered([person], observations(document, "test", TODAY), minimum=10**9)
    return found[0].candidates


# --- the attack itself -------------------------------------------------------------------


def test_weights_give_the_check_digit_of_gb_11643():
    rng = random.Random(1)
    for _ in range(2000):
        first17 = "".join(rng.choice("0123456789") for _ in range(17))
        value = (1 - residue(first17, range(17))) % 11
        assert ("X" if value == 10 else str(value)) == check_digit(first17)


def test_counting_agrees_with_brute_force():
    number = compose(COUNTY, dt.date(1988, 2, 27), 37)
    knowledge = Knowledge(male=True, county=COUNTY)
    knowledge.learn_fragment(mask(number), "test")
    knowledge.learn_birth(dt.date(1988, 2, 20), dt.date(1988, 3, 5), "test")
    brute = {
        compose(COUNTY, dt.date(1988, 2, 20) + dt.timedelta(days=d), s)
        for d in range(15)
        for s in range(1, 1000, 2)
    }
    fitting = {n for n in brute if n[-1] == number[-1]}
    assert number in fitting
    assert count_candidates(knowledge) == len(fitting)


def test_the_old_mask_and_the_birth_date_give_the_number_back():
    """The issue's repro: 200 random persons of county 622924, every one recovered."""
    rng = random.Random(14)
    for _ in range(200):
        born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(30000))
        number = compose(COUNTY, born, rng.randrange(1000))
        view = member_view(number, old_mask(number), birth_date=born.isoformat())
        assert attack(number, view) == 1


def test_the_new_mask_leaves_too_many_with_the_birth_year_but_not_with_the_date():
    number = compose(COUNTY, dt.date(1975, 3, 8), 171)
    by_year = member_view(number, mask(number), birth_year=1975)
    by_date = member_view(number, mask(number), birth_date="1975-03-08")
    # 365 days × 500 male sequences ÷ 11 (ARCHITECTURE §6.3): the figure the docs give
    assert attack(number, by_year) == 16_592 >= MIN_CANDIDATES
    # so the date must never be shown beside the mask: one day leaves ~45
    assert attack(number, by_date) < 50


def test_a_birth_date_without_any_part_of_the_number_is_not_a_recovery():
    """With no part of the number shown, the date leaves the day's 500 sequences of the
    gender: not a recovery by the mask (events keep the date for services' age rules)."""
    number = compose(COUNTY, dt.date(1975, 3, 8), 171)
    view = {"id": str(uuid.uuid4()), "name": "马某", "birth_date": "1975-03-08"}
    person = Person.of(number, view["id"], county=COUNTY)
    seen = list(observations(view, "test", TODAY))
    assert recovered([person], seen, minimum=10**9) == []
    knowledge = Knowledge(male=True, county=COUNTY)
    knowledge.learn_birth(dt.date(1975, 3, 8), dt.date(1975, 3, 8), "test")
    assert count_candidates(knowledge) == 500


def test_the_documented_range_of_candidates():
    """ARCHITECTURE §6.3: 16,590 to 16,637 numbers fit mask + birth year + gender + county."""
    counts = []
    for year in (1975, 1976):  # a common and a leap year
        for male in (True, False):
            for check in "0123456789X":
                knowledge = Knowledge(male=male, county=COUNTY)
                knowledge.learn_fragment("6229" + "*" * 13 + check, "test")
                knowledge.learn_birth(dt.date(year, 1, 1), dt.date(year, 12, 31), "test")
                counts.append(count_candidates(knowledge))
    assert (min(counts), max(counts)) == (16_590, 16_637)


def test_outputs_are_joined_by_member_id_and_anonymous_fragments_by_fit():
    """The attacker links a member view and an audit entry by member id, and a notice entry
    that names nobody by the fragment it shows."""
    number = compose(COUNTY, dt.date(1980, 6, 1), 25)
    member_id = str(uuid.uuid4())
    outputs = [
        {"id": member_id, "name": "马甲", "birth_year": 1980},
        {"after": {"members": [{"member_id": member_id, "birth_date": "1980-06-01"}]}},
        {"entries": [{"publicity_id": str(uuid.uuid4()), "head_id_number": old_mask(number)}]},
    ]
    seen = [o for d in outputs for o in observations(d, "test", TODAY)]
    found = recovered([Person.of(number, member_id, "马甲", county=COUNTY)], seen)
    assert [e.candidates for e in found] == [1], explain(found)


# --- every output of the running services --------------------------------------------------


def non_pii_headers(auth_keys, role: str) -> dict[str, str]:
    """Every scope a role may hold but ``pii:read``."""
    scopes = sorted({s for scopes in load_roles().values() for s in scopes} - {"pii:read"})
    return auth_keys.headers(role, f"{COUNTY}000000", scopes=tuple(scopes))


def unique_household(index: int, **overrides) -> dict:
    """Members with names of their own (a shared name links to no one)."""
    body = household_body(members=4, **overrides)
    rng = random.Random(index)
    for position, member in enumerate(body["members"]):
        member["name"] = f"马{index}{'甲乙丙丁'[position]}"
        # numbers of their own too: the shared test numbers are also the import template's
        born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000))
        member["id_number"] = compose(
            COUNTY, born, rng.randrange(1000) | 1 if position != 1 else 2 * rng.randrange(500)
        )
    return body


@contextlib.asynccontextmanager
async def dashboard_stream(gateway: httpx.AsyncClient, headers: dict, frames: list[str]):
    """A dashboard's SSE stream, read in the background into ``frames`` (data lines)."""

    async def read() -> None:
        async with gateway.stream("GET", "/events/stream", headers=headers) as response:
            assert response.status_code == 200, await response.aread()
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    frames.append(line.removeprefix("data:").strip())

    task = asyncio.create_task(read())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def quiet(frames: list, seconds: float = 2.0) -> None:
    """Until the stream has delivered nothing new for ``seconds`` (what was published is through)."""
    count = -1
    while count != len(frames):
        count = len(frames)
        await asyncio.sleep(seconds)


@pytest_asyncio.fixture
async def services(stack):
    registry_app = create_registry(RegistrySettings(**await stack.settings_for("registry")))
    health_app = create_health(HealthSettings(**await stack.settings_for("health")))
    gateway_app = create_gateway(
        GatewaySettings(**await stack.settings_for("gateway"), stream_heartbeat_seconds=0.5)
    )
    async with contextlib.AsyncExitStack() as exits:
        registry = await exits.enter_async_context(running(registry_app))
        health = await exits.enter_async_context(running(health_app))
        gateway = await exits.enter_async_context(serving(gateway_app))
        await seed_regions(registry_app)
        yield registry, health, gateway, health_app


async def build(registry: httpx.AsyncClient, admin: dict) -> dict[str, set[str]]:
    """Households and what happens to them: a member and a household changed, 公示, a
    helper, a visit, an alert, an import. Returns ids a sweep cannot find by itself (the import)."""
    households = []
    for index in range(6):
        region = VILLAGE if index % 2 else OTHER_VILLAGE
        created = await registry.post(
            "/households", json=unique_household(index, region_code=region), headers=admin
        )
        assert created.status_code == 201, created.text
        households.append(created.json())
    first = households[0]
    changed = await registry.patch(
        f"/households/{first['id']}/members/{first['members'][1]['id']}",
        json={"labour_capacity": "weak", "migrant_worker": True},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    patched = await registry.patch(
        f"/households/{first['id']}", json={"assistance_type": "dibao"}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    # 公示: a new case on the village board
    candidate = await new_candidate(registry, admin)
    await to_village_publicity(registry, candidate, admin)
    await open_publicity(registry, candidate, admin)
    helper = await registry.post(
        "/helpers",
        json={
            "name": "李科长",
            "rank": "section_level",
            "work_unit": "县农业农村局",
            "phone": "13809301234",
            "region_code": f"{COUNTY}000000",
        },
        headers=admin,
    )
    assert helper.status_code == 201, helper.text
    assigned = await registry.post(
        f"/households/{first['id']}/helper-assignments",
        json={"helper_id": helper.json()["id"], "start_date": TODAY.isoformat()},
        headers=admin,
    )
    assert assigned.status_code == 201, assigned.text
    visit = await registry.post(
        f"/households/{first['id']}/visits",
        json={
            "helper_id": helper.json()["id"],
            "visit_date": TODAY.isoformat(),
            "kind": "home_visit",
        },
        headers=admin,
    )
    assert visit.status_code == 201, visit.text
    alert = await registry.post(
        "/alerts",
        json={"household_id": first["id"], "kind": "manual", "note": "收入骤减", "evidence": [DOC]},
        headers=admin,
    )
    assert alert.status_code == 201, alert.text
    imported = await registry.post(
        "/imports",
        files={"file": ("households.csv", import_file())},
        params={"background": "true"},
        headers=admin,
    )
    assert imported.status_code == 202, imported.text
    job = imported.json()["id"]
    await eventually(
        lambda: registry.get(f"/imports/{job}", headers=admin),
        until=lambda r: r.json()["status"] == "completed",
    )
    return {
        "import_id": {job},
        "helper_id": {helper.json()["id"]},
        "month": {f"{TODAY:%Y-%m}"},
        "year": {str(TODAY.year)},
        "date_from": {f"{TODAY.year}-01-01"},
        "date_to": {TODAY.isoformat()},
        "code": {code for code, *_ in REGIONS},
    }


async def health_records(health_app) -> dict[str, set[str]]:
    """Ids of records health lists nowhere (a claim, an enrolment are read one by one)."""
    async with health_app.state.runtime.sessionmaker() as session:
        claims = (await session.execute(text("SELECT id FROM claims"))).scalars()
        enrolments = (await session.execute(text("SELECT id FROM enrolments LIMIT 5"))).scalars()
        return {"claim_id": {str(i) for i in claims}, "enrolment_id": {str(i) for i in enrolments}}


def import_file() -> bytes:
    """Two households of the village in the import format: one good, one with a bad row."""
    header = "村代码,户编号,与户主关系,姓名,身份证号,贫困状态,致贫原因,主要致贫原因,识别年度"
    good = compose(COUNTY, dt.date(1966, 9, 9), 311)
    spouse = compose(COUNTY, dt.date(1968, 1, 2), 402)
    rows = [
        f"{VILLAGE},IMP-1,户主,韩导入,{good},建档立卡,因病,因病,2016",
        f"{VILLAGE},IMP-1,配偶,马导入,{spouse},,,,",
        f"{VILLAGE},IMP-2,户主,韩错误,{good[:-1]}0,建档立卡,因病,因病,2016",
    ]
    return ("\n".join([header, *rows]) + "\n").encode("utf-8-sig")


async def everyone(registry: httpx.AsyncClient, admin: dict) -> list[Person]:
    """Ground truth, read with pii:read: every person with an ID number, by member id and name."""
    listed = await registry.get("/households", params={"size": 100}, headers=admin)
    people = []
    for summary in listed.json()["items"]:
        household = (await registry.get(f"/households/{summary['id']}", headers=admin)).json()
        people += [
            Person.of(m["id_number"], m["id"], m["name"], county=household["region_code"][:6])
            for m in household["members"]
            if m["id_number"]
        ]
    return people


async def test_no_output_without_pii_read_gives_an_id_number_back(services, auth_keys):
    registry, health, gateway, health_app = services
    admin = auth_keys.headers()
    frames: list[str] = []
    async with dashboard_stream(gateway, auth_keys.headers("dashboard"), frames):
        known = await build(registry, admin)
        people = await everyone(registry, admin)
        assert len(people) >= 26
        # health's year for the persons it learnt from the registry's events
        await registry_persons.caught_up(
            health_app.state.runtime.settings.nats_url,
            "health",
            timeout=60,
            quiet=1.0,
            echo=lambda _: None,
        )
        await load_health_year(health_app.state.runtime.settings, scale=0.2, show_progress=False)
        await quiet(frames)

    known |= await health_records(health_app)
    seen = []
    for frame in frames:
        seen += observations(json.loads(frame), "SSE dashboard", TODAY)
    callers = {
        role: non_pii_headers(auth_keys, role)
        for role in ("auditor", "dashboard", "health_officer")
    }
    helper_id = next(iter(known["helper_id"]))
    callers["helper"] = auth_keys.headers("helper", extra_claims={"helper_id": helper_id})
    callers["public"] = {}
    unreached = {}
    for name, client in (("registry", registry), ("health", health), ("gateway", gateway)):
        reached: set[str] = set()
        for role, headers in callers.items():
            found, answered = await sweep(
                client, headers, known, today=TODAY, source=f"{name} ({role})"
            )
            seen += found
            reached |= answered
        spec = (await client.get("/openapi.json")).json()["paths"]
        unreached[name] = sorted(
            p for p, ops in spec.items() if "get" in ops and p not in NOT_SWEPT | reached
        )
    # Every route was read (or refused the caller): a new route must be reachable too.
    assert not any(unreached.values()), f"routes the sweep could not read: {unreached}"
    assert any("public" in o.source for o in seen)
    types = {json.loads(f).get("type", "") for f in frames}
    # the dashboard saw both services' events (redacted), not only the stream's opening
    assert {HOUSEHOLD_CREATED.type, ENROLMENT_RECORDED.type} <= types, types

    found = recovered(people, seen)
    assert not found, "ID numbers recovered:\n" + explain(found)


@pytest.mark.xfail(
    "id_number_masked" in MemberSnapshot.model_fields,
    reason="registry events carry id_number_masked beside birth_date until MemberSnapshot "
    "publishes has_id_number instead (the contract change of the same issue)",
    strict=True,
)
async def test_no_event_gives_an_id_number_back(stack, auth_keys):
    registry_app = create_registry(RegistrySettings(**await stack.settings_for("registry")))
    async with running(registry_app) as registry:
        await seed_regions(registry_app)
        admin = auth_keys.headers()
        await build(registry, admin)
        people = await everyone(registry, admin)
        await eventually(lambda: unpublished(registry_app), until=lambda n: n == 0)
    seen = []
    for subject, document in await stream_documents(stack.nats_url):
        seen += observations(document, f"event {subject}", TODAY)
    assert any(o.source.startswith("event registry.household") for o in seen)
    found = recovered(people, seen)
    assert not found, "ID numbers recovered from events:\n" + explain(found)


async def unpublished(app) -> int:
    async with app.state.runtime.sessionmaker() as session:
        return (
            await session.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
        ).scalar_one()
