"""Six identical creates at once (a client retrying a timed-out request): exactly one is
created, the others get the documented 409, never a 500 from the unique constraint."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from gateway_testdata import VILLAGE, event, member, publish
from sqlalchemy import text
from test_claims import claim
from test_doctors import YEAR, at, household

from contracts.events import registry as registry_events
from devstack.testing import eventually
from health.conflicts import CONSTRAINT_PROBLEMS

N = 6


async def at_once(client, url: str, body: dict, headers: dict) -> list:
    return await asyncio.gather(*(client.post(url, json=body, headers=headers) for _ in range(N)))


def assert_one_created(responses, code: str) -> None:
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (N - 1), [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {code}


async def count(health_app, sql: str, **params) -> int:
    async with health_app.state.runtime.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def test_every_declared_constraint_exists(client, health_app):
    """A renamed constraint would silently turn its 409 into the generic one."""
    names = set(CONSTRAINT_PROBLEMS)
    async with health_app.state.runtime.engine.connect() as conn:
        found = set(
            (
                await conn.execute(
                    text(
                        "SELECT conname FROM pg_constraint WHERE conname = ANY(:n) "
                        "UNION SELECT indexname FROM pg_indexes WHERE indexname = ANY(:n)"
                    ),
                    {"n": list(names)},
                )
            ).scalars()
        )
    assert found == names


async def test_one_claim_number_at_once(client, js, auth_keys, health_app):
    headers = auth_keys.headers("health_officer", VILLAGE)
    (person,) = await household(client, js, auth_keys, ["马建国"], 1)
    body = claim(person)
    assert_one_created(await at_once(client, "/claims", body, headers), "DUPLICATE_CLAIM")
    assert await count(health_app, "SELECT count(*) FROM claims") == 1
    assert await count(health_app, "SELECT count(*) FROM settlements") == 1


@pytest.mark.parametrize("route", ["person", "household"])
async def test_one_enrolment_at_once(client, js, auth_keys, health_app, route):
    headers = auth_keys.headers("health_officer", VILLAGE)
    hid = uuid.uuid4()
    head = member("马建国", "head")
    _, created = event(registry_events.HOUSEHOLD_CREATED, hid, 1, members=[head])
    await publish(js, registry_events.HOUSEHOLD_CREATED, created)
    await eventually(
        lambda: client.get(
            "/reports/participation", params={"year": YEAR, "region": VILLAGE}, headers=headers
        ),
        until=lambda r: r.json()["total"]["persons"] == 1,
    )
    if route == "person":
        url, body = "/enrolments", {"person_id": str(head["member_id"]), "year": YEAR}
    else:
        url, body = f"/households/{hid}/enrolments", {"year": YEAR}
    assert_one_created(await at_once(client, url, body, headers), "ALREADY_ENROLLED")
    assert await count(health_app, "SELECT count(*) FROM enrolments") == 1


async def test_one_dialysis_record_and_one_session_a_day_at_once(client, js, auth_keys, health_app):
    at(health_app, dt.date(YEAR, 6, 30))
    headers = auth_keys.headers("health_officer", VILLAGE)
    (person,) = await household(client, js, auth_keys, ["马建国"], 1)
    registration = {"person_id": person, "started_on": f"{YEAR}-03-01", "facility": "县医院"}
    responses = await at_once(client, "/dialysis-patients", registration, headers)
    assert_one_created(responses, "DIALYSIS_OPEN")
    patient = next(r.json()["id"] for r in responses if r.status_code == 201)
    url = f"/dialysis-patients/{patient}/sessions"
    assert_one_created(
        await at_once(client, url, {"on": f"{YEAR}-03-02"}, headers), "DUPLICATE_SESSION"
    )
    assert await count(health_app, "SELECT count(*) FROM dialysis_sessions") == 1
